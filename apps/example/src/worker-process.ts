// Starts the Python optimizer and supervises it: parses its JSON lines, bounds its run time, and
// makes sure it is gone before the demo exits, whatever happens.
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { ScoringParameters, TuningValues } from "./program.js";

/** Debian's python3 has grpcio and protobuf; a pyenv/venv python3 on PATH usually does not. */
export const DEFAULT_PYTHON = "/usr/bin/python3";

export const WORKER_SCRIPT = join(
  dirname(fileURLToPath(import.meta.url)),
  "../worker/optimizer.py",
);

/** The dspex_bridge client ships inside @dspex/bridged-state, next to the server it talks to. */
export const PYTHON_CLIENT_PATH = join(
  dirname(createRequire(import.meta.url).resolve("@dspex/bridged-state/package.json")),
  "python",
);

/** The worker's stdout protocol: one JSON object per line (see worker/optimizer.py). */
export type WorkerMessage =
  | { event: "ready"; pid: number }
  | { event: "latency"; get_p50_us: number; address: string }
  | { event: "trial"; trial: number; trials: number; score: number; best: number }
  | { event: "write"; trial: number; name: string; version: number }
  | { event: "conflict"; trial: number; message: string; current_version: number | null }
  /** The bridge the worker talked to became unreachable; its client moved to `address`. */
  | { event: "failover"; trial: number; previous: string; address: string; failovers: number }
  | {
      event: "done";
      best: TuningValues;
      best_score: number;
      writes: number;
      conflicts: number;
      improvements: number;
      /** How often the client moved its calls to another bridge. */
      failovers: number;
    }
  | { event: "error"; message: string };

export type WorkerSummary = Extract<WorkerMessage, { event: "done" }>;

export interface OptimizerConfig {
  readonly trials: number;
  readonly seed: number;
  /** How long one pretend LLM evaluation takes in the worker. */
  readonly evalDelayMs: number;
  /** GetVariable round trips the worker times for the latency table. */
  readonly latencySamples: number;
  readonly scoring: ScoringParameters;
  /** The worker's name when several share a session: its writes carry it (metadata `worker`, `write`). */
  readonly worker?: string;
}

export interface WorkerOptions {
  readonly python: string;
  /** `host:port` of a bridge, or several bridges on one store, comma-separated. */
  readonly address: string;
  readonly token: string;
  readonly sessionId: string;
  readonly config: OptimizerConfig;
  /** The worker is stopped (and the run fails) when it has not finished by then. */
  readonly timeoutMs: number;
  readonly onMessage: (message: WorkerMessage) => void;
  readonly onOutput: (line: string) => void;
}

/**
 * Answers `undefined` when `python` can import grpc, protobuf and the dspex_bridge client;
 * otherwise the message telling the user exactly what to run.
 */
export function checkPythonDependencies(python: string): string | undefined {
  const probe = spawnSync(python, ["-c", "import grpc, google.protobuf, dspex_bridge"], {
    env: { ...process.env, PYTHONPATH: PYTHON_CLIENT_PATH },
    encoding: "utf8",
    timeout: 15_000,
  });
  if (probe.status === 0) return undefined;
  const reason =
    probe.error !== undefined
      ? `${python} could not be started (${probe.error.message})`
      : `${python} cannot import its packages:\n  ${probe.stderr.trim().split("\n").at(-1) ?? ""}`;
  return [
    `The optimizer worker needs ${python} with the grpc and protobuf packages.`,
    reason,
    "",
    "Install them, then run the demo again:",
    "  sudo apt-get update && sudo apt-get install -y python3 python3-grpcio python3-protobuf",
    "(as root, `bash scripts/setup-python.sh` from the repo root does this for you).",
  ].join("\n");
}

/** A running optimizer worker. `finished` settles when the process has exited. */
export class WorkerProcess {
  readonly pid: number;
  /** The worker's `done` summary; rejects on a non-zero exit, an `error` line or the timeout. */
  readonly finished: Promise<WorkerSummary>;
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #exited: Promise<void>;
  #stopping = false;

  private constructor(child: ChildProcessWithoutNullStreams, options: WorkerOptions) {
    if (child.pid === undefined) throw new Error(`could not start ${options.python}`);
    this.pid = child.pid;
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once("close", () => resolve()));
    this.finished = this.#supervise(options);
    // A run that is interrupted stops the worker without awaiting `finished`: not a crash.
    this.finished.catch(() => undefined);
  }

  static start(options: WorkerOptions): Promise<WorkerProcess> {
    const child = spawn(options.python, [WORKER_SCRIPT], {
      // stdin stays open as a lifeline: the worker exits when it reads EOF (see optimizer.py).
      stdio: ["pipe", "pipe", "pipe"],
      env: {
        ...process.env,
        PYTHONPATH: PYTHON_CLIENT_PATH,
        PYTHONUNBUFFERED: "1",
        DSPEX_BRIDGE_ADDRESS: options.address,
        // In the environment, not argv: other users can read a process's argv with `ps`.
        DSPEX_BRIDGE_TOKEN: options.token,
        DSPEX_SESSION_ID: options.sessionId,
        DSPEX_OPTIMIZER_CONFIG: JSON.stringify(options.config),
      },
    });
    return new Promise((resolve, reject) => {
      child.once("error", reject);
      child.once("spawn", () => {
        child.off("error", reject);
        resolve(new WorkerProcess(child, options));
      });
    });
  }

  /** Stops the worker: SIGTERM, then SIGKILL if it has not exited within `graceMs`. Idempotent. */
  async stop(graceMs = 1_500): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return this.#exited;
    this.#stopping = true;
    this.#child.kill("SIGTERM");
    const kill = setTimeout(() => this.#child.kill("SIGKILL"), graceMs);
    await this.#exited;
    clearTimeout(kill);
  }

  async #supervise(options: WorkerOptions): Promise<WorkerSummary> {
    const child = this.#child;
    let summary: WorkerSummary | undefined;
    let failure: string | undefined;
    const stderr: string[] = [];
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => stderr.push(chunk));
    createInterface({ input: child.stdout }).on("line", (line) => {
      const message = parseMessage(line);
      if (message === undefined) return options.onOutput(line);
      if (message.event === "done") summary = message;
      if (message.event === "error") failure = message.message;
      options.onMessage(message);
    });
    const timer = setTimeout(() => {
      failure = `the worker did not finish within ${options.timeoutMs} ms and was stopped`;
      void this.stop();
    }, options.timeoutMs);
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
      (resolve) => child.once("close", (code, signal) => resolve({ code, signal })),
    );
    clearTimeout(timer);
    if (failure === undefined && (exit.code !== 0 || summary === undefined)) {
      failure = this.#stopping
        ? "the worker was stopped"
        : `the worker exited with ${exit.signal ?? `code ${exit.code}`}`;
      const output = stderr.join("").trim();
      if (output !== "") failure += `:\n${output}`;
    }
    if (failure !== undefined) throw new Error(failure);
    return summary as WorkerSummary;
  }
}

function parseMessage(line: string): WorkerMessage | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const message = JSON.parse(line) as WorkerMessage;
    return typeof message.event === "string" ? message : undefined;
  } catch {
    return undefined;
  }
}
