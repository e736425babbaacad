// The processes the distributed demo starts besides the Python workers: two dspex-bridge
// servers and the TypeScript program. Each can be killed outright (the story) or stopped (the
// cleanup), and `exited` says when it is gone.
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { ProgramMessage } from "./protocol.js";

const BRIDGE_CLI = join(
  dirname(createRequire(import.meta.url).resolve("@dspex/bridged-state/package.json")),
  "bin/dspex-bridge.js",
);
const PROGRAM_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "program.ts");
const LIFELINE = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), "lifeline.mjs")).href;
const APP_DIR = join(dirname(fileURLToPath(import.meta.url)), "../..");
/** A bridge or program that has not said it is up by then will not. */
const START_TIMEOUT_MS = 15_000;

/** A child process with a lifetime: killed, stopped, or gone by itself. */
class Child {
  readonly pid: number;
  /** Settles when the process has exited, with how. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly stderr: string[] = [];
  #killed = false;

  constructor(readonly child: ChildProcessWithoutNullStreams) {
    if (child.pid === undefined) throw new Error("the process could not be started");
    this.pid = child.pid;
    this.exited = new Promise((resolve) =>
      child.once("close", (code, signal) => resolve({ code, signal })),
    );
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => this.stderr.push(chunk));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Whether the demo killed it (so its exit is the story, not a failure). */
  get killed(): boolean {
    return this.#killed;
  }

  /** SIGKILL: no cleanup, no goodbye. Answers once the process is gone. */
  async kill(): Promise<void> {
    this.#killed = true;
    if (this.running) this.child.kill("SIGKILL");
    await this.exited;
  }

  /** SIGTERM, then SIGKILL if it is still there after `graceMs`. Idempotent. */
  async stop(graceMs = 2_000): Promise<void> {
    if (!this.running) return void (await this.exited);
    this.#killed = true;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Its stderr, for an error message. */
  output(): string {
    const text = this.stderr.join("").trim();
    return text === "" ? "" : `:\n${text}`;
  }
}

/** Resolves with the first stdout line matching `pattern`; rejects if the process exits first. */
function waitForLine(child: Child, pattern: RegExp, what: string): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.child.stdout });
    const timer = setTimeout(() => {
      reject(new Error(`${what} did not start within ${START_TIMEOUT_MS} ms${child.output()}`));
    }, START_TIMEOUT_MS);
    lines.on("line", (line) => {
      const match = pattern.exec(line);
      if (match === null) return;
      clearTimeout(timer);
      lines.close();
      resolve(match);
    });
    void child.exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${signal ?? `code ${code}`}${child.output()}`));
    });
  });
}

/** A `dspex-bridge serve --store <redis>` process on an ephemeral 127.0.0.1 port. */
export class BridgeProcess extends Child {
  private constructor(
    child: ChildProcessWithoutNullStreams,
    readonly name: string,
    public address = "",
  ) {
    super(child);
  }

  static async start(name: string, storeUrl: string, token: string): Promise<BridgeProcess> {
    const child = spawn(
      process.execPath,
      [
        "--import",
        LIFELINE,
        BRIDGE_CLI,
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--store",
        storeUrl,
      ],
      // The token in the environment, not argv: other users can read argv with `ps`.
      { env: { ...process.env, DSPEX_BRIDGE_TOKEN: token }, stdio: ["pipe", "pipe", "pipe"] },
    );
    const bridge = new BridgeProcess(child, name);
    const match = await waitForLine(bridge, /^dspex-bridge listening on (\S+)$/, `bridge ${name}`);
    bridge.address = match[1]!;
    // Keep reading stdout so the bridge never blocks on a full pipe.
    child.stdout.resume();
    return bridge;
  }
}

export interface ProgramOptions {
  readonly redisUrl: string;
  /** Set on a restart: the session to reattach to. */
  readonly sessionId?: string;
  readonly onMessage: (message: ProgramMessage) => void;
}

/** The TypeScript program (src/distributed/program.ts) in its own Node process. */
export class ProgramProcess extends Child {
  /** Settles with the program's exit: rejects on an error line or an exit the demo did not cause. */
  readonly finished: Promise<void>;

  private constructor(child: ChildProcessWithoutNullStreams, options: ProgramOptions) {
    super(child);
    let failure: string | undefined;
    createInterface({ input: child.stdout }).on("line", (line) => {
      const message = parse(line);
      if (message === undefined) return;
      if (message.event === "error") failure = message.message;
      options.onMessage(message);
    });
    this.finished = this.exited.then(({ code, signal }) => {
      if (this.killed) return;
      if (failure !== undefined) throw new Error(`the program failed: ${failure}${this.output()}`);
      if (code !== 0) {
        throw new Error(`the program exited with ${signal ?? `code ${code}`}${this.output()}`);
      }
    });
    this.finished.catch(() => undefined);
  }

  static start(options: ProgramOptions): Promise<ProgramProcess> {
    // The same Node and loader (tsx) as this process; stdin stays open as its lifeline.
    const child = spawn(process.execPath, [...process.execArgv, PROGRAM_SCRIPT], {
      cwd: APP_DIR,
      env: {
        ...process.env,
        DSPEX_REDIS_URL: options.redisUrl,
        DSPEX_SESSION_ID: options.sessionId ?? "",
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    return new Promise((resolve, reject) => {
      child.once("error", reject);
      child.once("spawn", () => {
        child.off("error", reject);
        resolve(new ProgramProcess(child, options));
      });
    });
  }

  /** Asks the program to end its run: it reads the history back, reports it and exits 0. */
  finish(): void {
    this.child.stdin.write("finish\n");
  }
}

function parse(line: string): ProgramMessage | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const message = JSON.parse(line) as ProgramMessage;
    return typeof message.event === "string" ? message : undefined;
  } catch {
    return undefined;
  }
}
