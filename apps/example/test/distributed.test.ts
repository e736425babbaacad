import { execFileSync, spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { startRedisServer } from "@dspex/test-support";
import { describe, expect, it } from "vitest";
import { isAlive } from "./processes.js";
import { DISTRIBUTED_STORY_LINES } from "./story-lines.js";

/*
 * Runs the distributed demo as a user does (node with the tsx loader, so SIGINT reaches the
 * demo itself), with a real redis-server, two dspex-bridge processes, two Python workers and
 * the program process, and the two kills.
 */

const APP = join(dirname(fileURLToPath(import.meta.url)), "..");
/** A run takes about 8 s on the loaded 2-core machine; the guard kills a hung one. */
const RUN_TIMEOUT_MS = 45_000;

interface DemoRun {
  code: number | null;
  stdout: string;
  stderr: string;
  afterInterruptMs: number | undefined;
}

function runDistributed(
  args: readonly string[] = [],
  interruptWhen?: RegExp,
  signal: NodeJS.Signals = "SIGINT",
): Promise<DemoRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/distributed/main.ts", ...args], {
      cwd: APP,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let interruptedAt: number | undefined;
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      if (interruptedAt === undefined && interruptWhen?.test(stdout)) {
        interruptedAt = performance.now();
        child.kill(signal);
      }
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const guard = setTimeout(() => child.kill("SIGKILL"), RUN_TIMEOUT_MS);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(guard);
      const afterInterruptMs =
        interruptedAt === undefined ? undefined : performance.now() - interruptedAt;
      resolve({ code, stdout, stderr, afterInterruptMs });
    });
  });
}

/** Every pid the demo printed: bridges, workers, program instances. */
function startedPids(stdout: string): number[] {
  return [...new Set([...stdout.matchAll(/\(pid (\d+)\)/g)].map((match) => Number(match[1])))];
}

/** The directory of the demo's own redis-server (removed when the demo stops it). */
function redisDir(stdout: string): string {
  const match = /redis-server \S+ started on unix:\/\/(\S+)\/redis\.sock /.exec(stdout);
  expect(match, stdout).not.toBeNull();
  return match![1]!;
}

/** The rows of the history table: name -> [versions, consecutive, found, lost, twice, unacknowledged]. */
function historyTable(stdout: string): Map<string, string[]> {
  const lines = stdout.split("\n");
  const header = lines.findIndex(
    (line) => line.startsWith("  variable  ") && line.includes("lost"),
  );
  expect(header, stdout).toBeGreaterThan(0);
  const rows = new Map<string, string[]>();
  for (const line of lines.slice(header + 2)) {
    const cells = line.trim().split(/\s{2,}/);
    if (cells.length !== 7) break;
    rows.set(cells[0]!, cells.slice(1));
  }
  return rows;
}

describe("the distributed demo", () => {
  it(
    "kills bridge A and the program mid-run; every acknowledged write is in the history once",
    async () => {
      const run = await runDistributed();
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      const { stdout } = run;
      for (const line of DISTRIBUTED_STORY_LINES) expect(stdout, String(line)).toMatch(line);

      // Both workers started on bridge A and went on through B after it was killed.
      const bridgeA = /bridge A listening on (\S+) /.exec(stdout)![1]!;
      const bridgeB = /bridge B listening on (\S+) /.exec(stdout)![1]!;
      for (const worker of ["w1", "w2"]) {
        expect(stdout).toContain(`${worker}: connected through bridge A (${bridgeA})`);
        expect(stdout).toMatch(
          new RegExp(
            `${worker}: bridge A \\(${bridgeA}\\) unreachable during trial \\d+; its calls went on through bridge B \\(${bridgeB}\\)`,
          ),
        );
        expect(stdout).toMatch(new RegExp(`${worker}: done, 50/50 trials, \\d+ writes`));
      }
      const failoverAt = stdout.indexOf("w1: bridge A");
      expect(stdout.indexOf("** SIGKILL bridge A")).toBeLessThan(failoverAt);

      // The restarted program resumed at the step the killed one had reached.
      const killed = /\*\* SIGKILL the program \(pid (\d+)\) after step (\d+);/.exec(stdout);
      const restarted =
        /\*\* program restarted \(pid (\d+)\): .* on RedisState, at step (\d+):/.exec(stdout);
      expect(killed, stdout).not.toBeNull();
      expect(restarted, stdout).not.toBeNull();
      expect(restarted![1]).not.toBe(killed![1]);
      expect(restarted![2]).toBe(killed![2]);
      expect(stdout).toMatch(
        new RegExp(`^ {2}step +${Number(killed![2]) + 1} \\[RedisState\\]`, "m"),
      );

      // Every variable's history: consecutive from the version moved to Redis, all found once.
      const table = historyTable(stdout);
      expect([...table.keys()].sort()).toEqual(
        ["max_tokens", "model", "program_step", "system_prompt", "temperature"].sort(),
      );
      for (const [name, [versions, consecutive, found, lost, twice, unacknowledged]] of table) {
        expect(versions, name).toMatch(/^v\d+\.\.v\d+$/);
        expect(consecutive, name).toBe("yes");
        const [confirmed, total] = found!.split("/").map(Number);
        expect(confirmed, name).toBe(total);
        expect([lost, twice, unacknowledged], name).toEqual(["0", "0", "0"]);
      }
      // The program wrote its step counter at every step, before and after the restart.
      const [, , steps] = table.get("program_step")!;
      expect(Number(steps!.split("/")[0])).toBeGreaterThan(Number(killed![2]));
      expect(stdout).toMatch(
        /history {3}\d+ versions of 5 variables, consecutive; (\d+) acknowledged writes, all there once: 0 lost, 0 applied twice, 0 unacknowledged/,
      );

      // Everything it started is gone: bridges, workers, both program processes, redis-server.
      const pids = startedPids(stdout);
      expect(pids.length).toBe(6);
      for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
      expect(existsSync(redisDir(stdout))).toBe(false);
    },
    RUN_TIMEOUT_MS + 5_000,
  );

  it(
    "on Ctrl-C (SIGINT) mid-run stops everything it started and exits promptly",
    async () => {
      const run = await runDistributed([], /\*\* SIGKILL bridge A/);
      expect(run.stdout).toContain(
        "SIGINT: stopping the workers, the program, the bridges and redis-server",
      );
      expect(run.stdout).not.toContain("Summary");
      expect(run.stderr).toBe("");
      expect(run.code).toBe(130);
      expect(run.afterInterruptMs).toBeLessThan(5_000);
      const pids = startedPids(run.stdout);
      expect(pids.length).toBeGreaterThanOrEqual(5);
      for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
      expect(existsSync(redisDir(run.stdout))).toBe(false);
    },
    RUN_TIMEOUT_MS + 5_000,
  );

  it(
    "killed outright (SIGKILL, no cleanup), its bridges, workers and program exit by themselves",
    async () => {
      const run = await runDistributed([], /w2: connected through bridge A/, "SIGKILL");
      const dir = redisDir(run.stdout);
      try {
        const pids = startedPids(run.stdout);
        expect(pids.length).toBe(5);
        // Their stdin closes with the demo; a bridge then shuts down as on SIGTERM.
        for (let i = 0; i < 100 && pids.some(isAlive); i++) await delay(100);
        for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
      } finally {
        // redis-server has no such lifeline (README): the test stops the orphan itself.
        execFileSync("redis-cli", ["-s", join(dir, "redis.sock"), "shutdown", "nosave"]);
        rmSync(dir, { recursive: true, force: true });
      }
    },
    RUN_TIMEOUT_MS + 15_000,
  );

  it(
    "with --redis uses that Redis, leaves it running and keeps the session there",
    async () => {
      const server = await startRedisServer({ tcp: true });
      try {
        const run = await runDistributed(["--redis", server.tcpUrl!]);
        expect(run.stderr).toBe("");
        expect(run.code).toBe(0);
        expect(run.stdout).toContain(`using ${server.tcpUrl} (--redis)`);
        expect(run.stdout).not.toContain("redis-server 7");
        expect(run.stdout).toContain("0 lost, 0 applied twice, 0 unacknowledged");
        const session = /session (ctx_[0-9a-f-]{36}) now lives in Redis/.exec(run.stdout)![1]!;
        expect(await server.cli("PING")).toBe("PONG");
        expect(await server.cli("EXISTS", `dspex:{s:${session}}:h`)).toBe("1");
      } finally {
        await server.stop();
      }
    },
    RUN_TIMEOUT_MS + 5_000,
  );

  it("refuses a --redis without a URL, naming what it expects, and starts nothing", async () => {
    const run = await runDistributed(["--redis", "localhost:6379"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      "--redis needs a URL (redis://HOST:PORT, rediss://..., unix:///path), got localhost:6379",
    );
    expect(run.stdout).not.toContain("redis-server");
  });
});
