import { type ChildProcess, fork } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  type Capabilities,
  err,
  type Result,
  StateErrors,
  type StateProvider,
  type Subscriber,
  type VariableEvent,
} from "@dspex/state-provider";

export interface ChildProcessProviderOptions {
  /** Path or `file:` URL of the module that exports the provider (or a function returning one). */
  readonly module: string | URL;
  /** The export to use. Default `default`. */
  readonly exportName?: string;
  /** Node flags for the child, e.g. `["--import", "tsx"]` to load a TypeScript module. */
  readonly execArgv?: readonly string[];
  /** Extra environment variables for the child (added to this process's). */
  readonly env?: Readonly<Record<string, string>>;
  /** Milliseconds the child may take to load the module. Default 30000. */
  readonly startTimeoutMs?: number;
  /** Where errors thrown by subscribers go (they never reach the child). Default `console.error`. */
  readonly onSubscriberError?: (error: unknown, event: VariableEvent) => void;
}

/** A provider whose every call runs in a child process. `close()` stops the process. */
export interface ChildProcessProvider extends StateProvider<ChildState> {
  readonly pid: number | undefined;
  close(): Promise<void>;
}

/** The parent's view of a state: a handle the child resolves. */
export interface ChildState {
  readonly handle: number;
}

interface Ready {
  name: string;
  contractVersion: string;
  capabilities: Capabilities;
  requiresBridge: boolean;
  streaming: boolean;
  history: boolean;
}

type Reply =
  | { kind: "ready"; info: Ready }
  | { kind: "failed"; message: string }
  | { kind: "result"; id: number; result?: Result<unknown>; thrown?: string }
  | { kind: "event"; key: number; event: VariableEvent };

/** The host script next to this module (its built `.js`, or the `.ts` source under a loader). */
function hostPath(): string {
  const js = fileURLToPath(new URL("./child-host.js", import.meta.url));
  return existsSync(js) ? js : fileURLToPath(new URL("./child-host.ts", import.meta.url));
}

/**
 * Starts `module`'s provider in a new Node process and answers a provider that forwards every
 * call to it over IPC: what a freshly started process would have, for the `restart` option.
 * Values cross with structured cloning (NaN, -0, bigint survive); events arrive before the
 * result of the call that caused them. The child exits on `close()` or with this process.
 *
 * ```ts
 * restart: () => childProcessProvider({ module: new URL("./my-backend.ts", import.meta.url), execArgv: ["--import", "tsx"] })
 * ```
 */
export async function childProcessProvider(
  options: ChildProcessProviderOptions,
): Promise<ChildProcessProvider> {
  const module = options.module instanceof URL ? options.module.href : options.module;
  const child: ChildProcess = fork(hostPath(), [], {
    execArgv: [...(options.execArgv ?? [])],
    env: { ...process.env, ...options.env },
    serialization: "advanced",
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const pending = new Map<number, (reply: Extract<Reply, { kind: "result" }>) => void>();
  const onSubscriberError =
    options.onSubscriberError ??
    ((error: unknown, event: VariableEvent) =>
      console.error(
        `dspex: a subscriber threw on ${event.kind} of ${JSON.stringify(event.name)}:`,
        error,
      ));
  // A throwing subscriber must not break the IPC handler, hence the writer's answer.
  const deliver = (key: number, event: VariableEvent) => {
    try {
      subscribers.get(key)?.(event);
    } catch (error) {
      try {
        onSubscriberError(error, event);
      } catch {
        // A handler that throws must not break delivery either.
      }
    }
  };
  const subscribers = new Map<number, Subscriber>();
  let nextId = 0;
  let exited = false;
  // The channel keeps this process alive only while a call is waiting for its answer.
  const idle = () => {
    if (pending.size === 0) {
      child.unref();
      child.channel?.unref();
    }
  };
  const busy = () => {
    child.ref();
    child.channel?.ref();
  };
  const exit = new Promise<void>((resolve) => {
    child.once("exit", () => {
      exited = true;
      for (const settle of pending.values())
        settle({ kind: "result", id: -1, thrown: "the provider's child process exited" });
      pending.clear();
      resolve();
    });
  });
  const info = await new Promise<Ready>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`childProcessProvider: ${module} did not load within the start timeout`));
    }, options.startTimeoutMs ?? 30_000);
    child.on("message", (reply: Reply) => {
      if (reply.kind === "ready") {
        clearTimeout(timer);
        resolve(reply.info);
      } else if (reply.kind === "failed") {
        clearTimeout(timer);
        child.kill();
        reject(new Error(`childProcessProvider: ${reply.message}`));
      } else if (reply.kind === "result") {
        const settle = pending.get(reply.id);
        pending.delete(reply.id);
        settle?.(reply);
        idle();
      } else {
        deliver(reply.key, reply.event);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`childProcessProvider: the child exited (code ${code}) before loading`));
    });
    child.send({ kind: "load", module, exportName: options.exportName ?? "default" });
  });
  idle();

  const call = (
    method: string,
    handle: number | undefined,
    args: unknown[],
    key?: number,
  ): Promise<Result<unknown>> => {
    if (exited) return Promise.resolve(err(StateErrors.closed(info.name)));
    const id = ++nextId;
    busy();
    return new Promise((resolve, reject) => {
      pending.set(id, (reply) => {
        if (reply.thrown !== undefined) {
          if (exited) resolve(err(StateErrors.unavailable(reply.thrown)));
          else reject(new Error(`${info.name} threw in its child process: ${reply.thrown}`));
        } else resolve(reply.result!);
      });
      child.send({ kind: "call", id, method, handle, args, key });
    });
  };
  const withState = (result: Result<unknown>, state: ChildState) =>
    result.ok &&
    typeof result.value === "object" &&
    result.value !== null &&
    "state" in result.value
      ? { ...result, value: { ...result.value, state } }
      : result;
  // Each forwarded call answers its own Result type; the child's answer is that Result.
  const forward =
    (method: string) =>
    async (state: ChildState, ...args: unknown[]): Promise<never> =>
      withState(await call(method, state.handle, args), state) as never;

  const provider: ChildProcessProvider = {
    name: info.name,
    contractVersion: info.contractVersion,
    pid: child.pid,
    async init(initOptions) {
      const result = await call("init", undefined, [initOptions]);
      return result.ok ? { ok: true, value: { handle: result.value as number } } : result;
    },
    registerVariable: forward("registerVariable"),
    getVariable: forward("getVariable"),
    getVariableRecord: forward("getVariableRecord"),
    setVariable: forward("setVariable"),
    listVariables: forward("listVariables"),
    getVariables: forward("getVariables"),
    updateVariables: forward("updateVariables"),
    deleteVariable: forward("deleteVariable"),
    exportState: forward("exportState"),
    importState: forward("importState"),
    requiresBridge: () => info.requiresBridge,
    capabilities: () => info.capabilities,
    async cleanup(state) {
      if (!exited) await call("cleanup", state.handle, []);
    },
    async close() {
      if (!exited) child.disconnect();
      await exit;
    },
  };
  if (info.history) provider.getVariableHistory = forward("getVariableHistory");
  if (info.streaming) {
    const keys = new Map<string, number>();
    provider.subscribe = async (state, pattern, subscriber) => {
      const key = ++nextId;
      subscribers.set(key, subscriber);
      // A function cannot cross to the child; a caller's non-function does, so the backend
      // itself answers that mistake.
      const mistaken = typeof subscriber === "function" ? null : { given: subscriber };
      const result = (await call(
        "subscribe",
        state.handle,
        [pattern, mistaken],
        key,
      )) as Result<string>;
      if (result.ok) keys.set(result.value, key);
      else subscribers.delete(key);
      return result;
    };
    provider.unsubscribe = async (state, subscription) => {
      const result = (await call("unsubscribe", state.handle, [subscription])) as Result<undefined>;
      const key = keys.get(subscription);
      if (result.ok && key !== undefined) {
        subscribers.delete(key);
        keys.delete(subscription);
      }
      return result;
    };
  }
  return provider;
}
