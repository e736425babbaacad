/*
 * The child side of `childProcessProvider`: loads the author's provider module and answers the
 * parent's calls over IPC. States stay here; the parent only holds handle numbers.
 */
import { pathToFileURL } from "node:url";

type Message =
  | { kind: "load"; module: string; exportName: string }
  | { kind: "call"; id: number; method: string; handle?: number; args: unknown[]; key?: number };

// biome-ignore lint/suspicious/noExplicitAny: the author's provider, whatever its state type.
type Provider = Record<string, any>;

const MUTATING = new Set([
  "registerVariable",
  "setVariable",
  "updateVariables",
  "deleteVariable",
  "importState",
]);

let provider: Provider | undefined;
const states = new Map<number, unknown>();
let nextHandle = 0;

const send = (message: unknown) => process.send?.(message);

async function load(module: string, exportName: string): Promise<void> {
  const url = module.startsWith("file:") ? module : pathToFileURL(module).href;
  const loaded = (await import(url)) as Record<string, unknown>;
  let candidate = loaded[exportName];
  if (typeof candidate === "function") candidate = await (candidate as () => unknown)();
  if (typeof candidate !== "object" || candidate === null)
    throw new TypeError(`${module} does not export a provider as ${JSON.stringify(exportName)}`);
  provider = candidate as Provider;
  send({
    kind: "ready",
    info: {
      name: provider.name,
      contractVersion: provider.contractVersion,
      capabilities: provider.capabilities(),
      requiresBridge: provider.requiresBridge(),
      streaming: typeof provider.subscribe === "function",
      history: typeof provider.getVariableHistory === "function",
    },
  });
}

async function call(message: Extract<Message, { kind: "call" }>): Promise<unknown> {
  const p = provider!;
  if (message.method === "init") {
    const result = await p.init(...message.args);
    if (!result.ok) return result;
    const handle = ++nextHandle;
    states.set(handle, result.value);
    return { ok: true, value: handle };
  }
  const handle = message.handle!;
  const state = states.get(handle);
  if (message.method === "cleanup") {
    await p.cleanup(state);
    return { ok: true, value: undefined };
  }
  const mistaken = message.args[1] as { given?: unknown } | null | undefined;
  const args =
    message.method === "subscribe"
      ? [
          message.args[0],
          mistaken == null
            ? (event: unknown) => send({ kind: "event", key: message.key, event })
            : mistaken.given,
        ]
      : message.args;
  const result = await p[message.method](state, ...args);
  if (result.ok && MUTATING.has(message.method)) {
    states.set(handle, result.value.state);
    return { ok: true, value: { ...result.value, state: handle } };
  }
  return result;
}

process.on("message", (message: Message) => {
  if (message.kind === "load") {
    load(message.module, message.exportName).catch((error: unknown) =>
      send({ kind: "failed", message: error instanceof Error ? error.message : String(error) }),
    );
    return;
  }
  call(message).then(
    (result) => send({ kind: "result", id: message.id, result }),
    (error: unknown) =>
      send({
        kind: "result",
        id: message.id,
        thrown: error instanceof Error ? error.message : String(error),
      }),
  );
});
// The parent closes the channel to stop us.
process.on("disconnect", () => process.exit(0));
