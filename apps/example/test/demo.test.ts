import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { DEFAULT_PYTHON } from "../src/worker-process.js";
import { isAlive } from "./processes.js";
import { STORY_LINES } from "./story-lines.js";

/*
 * Runs the demo as a user does, in a child process (node with the tsx loader, so that SIGINT
 * reaches the demo itself and not a wrapper), with the real Python worker and gRPC server.
 */

const APP = join(dirname(fileURLToPath(import.meta.url)), "..");

interface DemoRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Milliseconds from the interrupt (if any) to the exit. */
  afterInterruptMs: number | undefined;
}

interface DemoOptions {
  env?: NodeJS.ProcessEnv;
  /** Once stdout matches, send `signal` to the demo. */
  interruptWhen?: RegExp;
  signal?: NodeJS.Signals;
}

function runDemo(options: DemoOptions = {}): Promise<DemoRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd: APP,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let interruptedAt: number | undefined;
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      if (interruptedAt === undefined && options.interruptWhen?.test(stdout)) {
        interruptedAt = performance.now();
        child.kill(options.signal ?? "SIGINT");
      }
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const guard = setTimeout(() => child.kill("SIGKILL"), 25_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(guard);
      const afterInterruptMs =
        interruptedAt === undefined ? undefined : performance.now() - interruptedAt;
      resolve({ code, signal, stdout, stderr, afterInterruptMs });
    });
  });
}

function workerPid(stdout: string): number {
  const match = /optimizer worker started \(pid (\d+)\)/.exec(stdout);
  expect(match, stdout).not.toBeNull();
  return Number(match![1]);
}

function serverPort(stdout: string): number {
  const match = /bridge server listening on 127\.0\.0\.1:(\d+) /.exec(stdout);
  expect(match, stdout).not.toBeNull();
  return Number(match![1]);
}

/** Resolves with the connect error code, or "connected" when something still listens. */
function probePort(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/** The rows of the "Final variables" table: name -> version and last writer. */
function finalTable(stdout: string): Map<string, { version: number; lastWriter: string }> {
  const lines = stdout.split("\n");
  const start = lines.indexOf("Final variables");
  expect(start, stdout).toBeGreaterThan(0);
  const rows = new Map<string, { version: number; lastWriter: string }>();
  for (const line of lines.slice(start + 3)) {
    const row = /^ {2}(\S+)\s+.*?\s(\d+)\s{2}(\w+)\s{2,}/.exec(line);
    if (row === null) break;
    rows.set(row[1]!, { version: Number(row[2]), lastWriter: row[3]! });
  }
  return rows;
}

describe("the example app", () => {
  it("runs the story to the end: local steps, switch, Python optimizer, watched changes, report", async () => {
    const run = await runDemo();
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const { stdout } = run;

    expect(stdout).toMatch(/step {2}1 \[local {2}\] score 0\.\d{4}/);
    expect(stdout).toMatch(
      /switched LocalState -> BridgedState in [\d.]+ ms \(4 variables, 1 watch moved\)/,
    );
    expect(stdout).toMatch(/session \S+ is open to workers \(bearer token required\)/);
    expect(stdout).toMatch(/step +\d+ \[bridged\] score/);
    // The TypeScript watcher printed changes the Python worker made over gRPC...
    expect(stdout).toMatch(/change {2}\w+ +.+ -> .+ {2}v\d+ {2}source=python \(trial \d+\)/);
    // ...and the progress the worker reported on its stdout.
    expect(stdout).toMatch(/optimizer: trial 40\/40 best score 0\.\d{4}/);

    const table = finalTable(stdout);
    expect([...table.keys()]).toEqual(["temperature", "max_tokens", "model", "system_prompt"]);
    // TypeScript wrote max_tokens (local) and system_prompt (bridged); Python tuned the rest.
    expect(table.get("max_tokens")!.version).toBeGreaterThan(1);
    expect(table.get("system_prompt")!.version).toBeGreaterThan(2);
    expect([...table.values()].some((row) => row.lastWriter === "python")).toBe(true);
    expect(stdout).toContain("the two score formulas agree");
    expect(stdout).toMatch(/LocalState -> BridgedState {2}ok {2}[\d.]+ ms/);
    expect(stdout).toMatch(/get +[\d.]+ us +[\d.]+ us +[\d.]+ us/);
    // Every line the README's sample output shows (readme.test.ts checks the README side).
    for (const line of STORY_LINES) expect(stdout, String(line)).toMatch(line);

    // Nothing is left: the worker has exited and the port no longer accepts connections.
    expect(isAlive(workerPid(stdout))).toBe(false);
    expect(await probePort(serverPort(stdout))).toBe("ECONNREFUSED");
  });

  it("on Ctrl-C (SIGINT) mid-run stops the worker and the server and exits promptly", async () => {
    const run = await runDemo({ interruptWhen: /optimizer: trial 5\/40/ });
    expect(run.stdout).toContain("SIGINT: stopping the worker and the bridge server");
    expect(run.stdout).not.toContain("Final variables");
    expect(run.stderr).toBe("");
    expect(run.code).toBe(130);
    expect(run.afterInterruptMs).toBeLessThan(5_000);
    expect(isAlive(workerPid(run.stdout))).toBe(false);
    expect(await probePort(serverPort(run.stdout))).toBe("ECONNREFUSED");
  });

  it("a worker whose parent is killed outright (SIGKILL, no cleanup) exits by itself", async () => {
    const run = await runDemo({ interruptWhen: /optimizer: trial 5\/40/, signal: "SIGKILL" });
    expect(run.signal).toBe("SIGKILL");
    const pid = workerPid(run.stdout);
    // Its stdin closes with the parent; it notices within moments.
    for (let i = 0; i < 50 && isAlive(pid); i++) await delay(100);
    expect(isAlive(pid)).toBe(false);
  });

  it("when the worker crashes fails with its error, exits 1 and stops the server", async () => {
    // A python3 that passes the dependency check, then crashes as the worker after `ready`.
    const dir = mkdtempSync(join(tmpdir(), "dspex-example-"));
    const python = join(dir, "python3");
    writeFileSync(
      python,
      [
        "#!/bin/sh",
        `[ "$1" = "-c" ] && exec ${DEFAULT_PYTHON} "$@"`,
        `echo '{"event":"ready","pid":'$$'}'`,
        "sleep 0.3",
        "echo 'worker traceback: boom' >&2",
        "exit 3",
        "",
      ].join("\n"),
    );
    chmodSync(python, 0o755);
    try {
      const run = await runDemo({ env: { DSPEX_PYTHON: python } });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain("demo failed: the worker exited with code 3");
      expect(run.stderr).toContain("worker traceback: boom");
      expect(run.stdout).not.toContain("Final variables");
      expect(isAlive(workerPid(run.stdout))).toBe(false);
      expect(await probePort(serverPort(run.stdout))).toBe("ECONNREFUSED");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("without a usable Python says exactly what to install and exits 1", async () => {
    const run = await runDemo({ env: { DSPEX_PYTHON: "/nonexistent/python3" } });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("/nonexistent/python3 could not be started");
    expect(run.stderr).toContain(
      "sudo apt-get update && sudo apt-get install -y python3 python3-grpcio python3-protobuf",
    );
    expect(run.stdout).not.toContain("bridge server listening");
  });
});
