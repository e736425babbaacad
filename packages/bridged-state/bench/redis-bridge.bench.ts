/*
 * The bridge on Redis next to the in-memory bridge, in the same run, on a redis-server this
 * benchmark starts (and stops, with every bridge and worker it starts):
 * 1. RemoteState.getVariable / setVariable through a bridge on Redis (unix socket, and TCP
 *    loopback) against the same calls through an in-memory bridge, 1 in flight, in interleaved
 *    rounds (a fresh order each round); the ratio is the median of the rounds' p50 ratios. Beside
 *    them, where the time goes: the stores called in-process (no gRPC), RedisState itself, a raw
 *    PING round trip, the Redis commands each call sends, and the CPU each side spends.
 * 2. Four Python worker processes (the dspex_bridge client, python/bench/bench_worker.py) on a
 *    mix of get, set and batches, over two bridge processes on one Redis (two workers start on
 *    each, each given both addresses), against the same four workers on one in-memory bridge
 *    process, and on one bridge on Redis (what two bridges add), in timed rounds in a fresh
 *    order each round: ops/s, p50/p99 per operation, CPU per op of each process, Redis commands.
 * Every goal goes to `pnpm bench`'s closing table. Run: `pnpm bench` (about a minute; `single`
 * or `workers` as argument runs one part). BENCH_CPU_PROF=<dir> profiles the bridge processes.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface, type Interface } from "node:readline";
import { fileURLToPath } from "node:url";
import { RedisState } from "@dspex/redis-state";
import { unwrap } from "@dspex/state-provider";
import { startRedisServer, type TestServer } from "@dspex/test-support";
import { createClient } from "@redis/client";
import { type Goal, reportGoals } from "../../../scripts/bench-goals.mjs";
import { RemoteState } from "../src/client/remote-state.js";
import { BridgeServer } from "../src/server/bridge-server.js";
import type { BridgeStore } from "../src/store/bridge-store.js";
import { RedisBridgeStore } from "../src/store/redis-bridge-store.js";
import { median, percentile, shuffled, us, x } from "./stats.js";

const here = dirname(fileURLToPath(import.meta.url));
const packageDir = join(here, "..");
const PYTHON = process.env.PYTHON ?? "/usr/bin/python3";
const SESSION = "bench-redis";

type Call = () => Promise<unknown>;
type BridgeClientState = Extract<Awaited<ReturnType<RemoteState["init"]>>, { ok: true }>["value"];

interface Series {
  /** Per round: p50 µs, time per op µs, this process's CPU µs per op, redis-server's CPU µs per op. */
  readonly p50: number[];
  readonly wall: number[];
  readonly cpu: number[];
  readonly redisCpu: number[];
  /** Every latency of every round (for p99). */
  readonly all: number[];
}

const load = () =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(" ");

/** redis-server's own CPU so far (user + sys), in µs, from INFO cpu. */
async function redisCpuUs(info: () => Promise<string>): Promise<number> {
  const text = await info();
  return (readField(text, "used_cpu_user") + readField(text, "used_cpu_sys")) * 1e6;
}

function readField(text: string, name: string): number {
  const match = new RegExp(`^${name}:([0-9.]+)`, "m").exec(text);
  if (match === null) throw new Error(`INFO has no ${name}`);
  return Number(match[1]);
}

/** `rounds` times, each call `perRound` times in a fresh order: latencies and CPU per side. */
async function interleaved<K extends string>(
  calls: Record<K, Call>,
  rounds: number,
  perRound: number,
  info: () => Promise<string>,
): Promise<Record<K, Series>> {
  const names = Object.keys(calls) as K[];
  const out = {} as Record<K, Series>;
  for (const name of names) out[name] = { p50: [], wall: [], cpu: [], redisCpu: [], all: [] };
  for (let round = 0; round < rounds; round++) {
    for (const name of shuffled(names)) {
      const call = calls[name];
      const latencies: number[] = [];
      const redis0 = await redisCpuUs(info);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      for (let i = 0; i < perRound; i++) {
        const start = performance.now();
        await call();
        latencies.push((performance.now() - start) * 1000);
      }
      const wall = ((performance.now() - t0) * 1000) / perRound;
      const cpu = process.cpuUsage(cpu0);
      const redis1 = await redisCpuUs(info);
      latencies.sort((a, b) => a - b);
      const series = out[name];
      series.p50.push(percentile(latencies, 50));
      series.wall.push(wall);
      series.cpu.push((cpu.user + cpu.system) / perRound);
      series.redisCpu.push((redis1 - redis0) / perRound);
      series.all.push(...latencies);
    }
  }
  for (const name of names) out[name].all.sort((a, b) => a - b);
  return out;
}

/** Median over rounds of the per-round p50 ratio (a noisy moment hits both sides of a round). */
const ratioOf = (subject: Series, base: Series) =>
  median(subject.p50.map((value, i) => value / base.p50[i]!));

/** Redis commands sent per call, by command (INFO commandstats around `count` calls). */
async function commandsPerCall(
  server: TestServer,
  call: Call,
  count: number,
): Promise<Record<string, number>> {
  const before = await commandCounts(server);
  for (let i = 0; i < count; i++) await call();
  const after = await commandCounts(server);
  const out: Record<string, number> = {};
  for (const [command, calls] of Object.entries(after)) {
    if (command !== "info") out[command] = (calls - (before[command] ?? 0)) / count;
  }
  return out;
}

const describeCommands = (perCall: Record<string, number>) =>
  Object.entries(perCall)
    .filter(([, n]) => n >= 0.01)
    .map(([command, n]) => `${command} ${n.toFixed(2)}`)
    .join(", ") || "none";

// ---- part 1: one client, 1 in flight ----

async function singleCalls(
  redis: TestServer,
  info: () => Promise<string>,
  lines: string[],
): Promise<Goal[]> {
  const tcpUrl = redis.tcpUrl;
  if (tcpUrl === undefined) throw new Error("redis-server was started without a TCP port");
  const memoryBridge = await BridgeServer.start();
  const unixStore = unwrap(await RedisBridgeStore.open({ url: redis.url }));
  const unixBridge = await BridgeServer.start({ store: unixStore });
  const tcpStore = unwrap(await RedisBridgeStore.open({ url: tcpUrl }));
  const tcpBridge = await BridgeServer.start({ store: tcpStore });
  const provider = new RedisState({ url: redis.url });
  // Errors surface as rejected calls; an unhandled 'error' event would hide the first failure.
  const raw = createClient({ url: redis.url }).on("error", () => {});
  await raw.connect();

  const remotes: { remote: RemoteState; state: BridgeClientState }[] = [];
  // A session of its own per client: the two Redis bridges share one Redis.
  async function client(
    address: string,
    sessionId: string,
  ): Promise<{ remote: RemoteState; state: BridgeClientState }> {
    const remote = new RemoteState({ address });
    const state = unwrap(await remote.init({ sessionId }));
    unwrap(
      await remote.registerVariable(state, "temperature", "float", 0.7, {
        constraints: { min: 0, max: 2 },
      }),
    );
    remotes.push({ remote, state });
    return { remote, state };
  }
  const memory = await client(memoryBridge.address, `${SESSION}-memory`);
  const unix = await client(unixBridge.address, `${SESSION}-unix`);
  const tcp = await client(tcpBridge.address, `${SESSION}-tcp`);
  const direct = unwrap(await provider.init({ sessionId: `${SESSION}-direct` }));
  unwrap(
    await provider.registerVariable(direct, "temperature", "float", 0.7, {
      constraints: { min: 0, max: 2 },
    }),
  );

  let n = 0;
  const next = () => (++n % 100) / 100;
  type Client = typeof memory;
  const get =
    (c: Client): Call =>
    async () =>
      unwrap(await c.remote.getVariable(c.state, "temperature"));
  const set =
    (c: Client): Call =>
    async () =>
      unwrap(await c.remote.setVariable(c.state, "temperature", next()));
  // The stores the bridges above serve, called in-process on the same sessions.
  const storeGet =
    (store: BridgeStore, sessionId: string): Call =>
    async () =>
      unwrap(await store.get(sessionId, "temperature"));
  const storeSet =
    (store: BridgeStore, sessionId: string): Call =>
    async () =>
      unwrap(await store.set(sessionId, "temperature", next(), {}, {}));
  const calls = {
    memoryGet: get(memory),
    unixGet: get(unix),
    tcpGet: get(tcp),
    memorySet: set(memory),
    unixSet: set(unix),
    tcpSet: set(tcp),
    memoryStoreGet: storeGet(memoryBridge.backing, `${SESSION}-memory`),
    memoryStoreSet: storeSet(memoryBridge.backing, `${SESSION}-memory`),
    redisStoreGet: storeGet(unixStore, `${SESSION}-unix`),
    redisStoreSet: storeSet(unixStore, `${SESSION}-unix`),
    redisStateGet: async () => unwrap(await provider.getVariable(direct, "temperature")),
    redisStateSet: async () => unwrap(await provider.setVariable(direct, "temperature", next())),
    ping: () => raw.sendCommand(["PING"]),
  } satisfies Record<string, Call>;

  // Warm up JIT, connections and Redis's script cache.
  for (const call of Object.values(calls)) for (let i = 0; i < 1_000; i++) await call();
  const commands = {
    get: await commandsPerCall(redis, calls.unixGet, 500),
    set: await commandsPerCall(redis, calls.unixSet, 500),
  };
  const s = await interleaved(calls, 15, 300, info);

  const row = (name: string, series: Series, base?: Series) =>
    `  ${name.padEnd(38)} p50 ${us(median(series.p50)).padStart(9)}  p99 ${us(percentile(series.all, 99)).padStart(9)}  cpu ${us(median(series.cpu)).padStart(8)}/op  redis cpu ${us(median(series.redisCpu)).padStart(8)}/op${base === undefined ? "" : `   ${x(ratioOf(series, base))} p50`}`;
  lines.push(
    "1 in flight (median of 15 interleaved rounds of 300; p99 over all rounds; cpu: this process, client and bridge; redis cpu: redis-server's)",
    "RemoteState through a bridge (ratios to the in-memory bridge)",
    row("getVariable, in-memory bridge", s.memoryGet),
    row("getVariable, Redis bridge (unix socket)", s.unixGet, s.memoryGet),
    row("getVariable, Redis bridge (TCP loopback)", s.tcpGet, s.memoryGet),
    row("setVariable, in-memory bridge", s.memorySet),
    row("setVariable, Redis bridge (unix socket)", s.unixSet, s.memorySet),
    row("setVariable, Redis bridge (TCP loopback)", s.tcpSet, s.memorySet),
    "where the time goes (in-process, no gRPC; Redis on its unix socket)",
    row("SessionStore.get (in-memory store)", s.memoryStoreGet),
    row("RedisBridgeStore.get", s.redisStoreGet, s.ping),
    row("RedisState.getVariable", s.redisStateGet, s.ping),
    row("SessionStore.set (in-memory store)", s.memoryStoreSet),
    row("RedisBridgeStore.set", s.redisStoreSet, s.ping),
    row("RedisState.setVariable", s.redisStateSet, s.ping),
    row("raw PING round trip (node-redis)", s.ping),
    `  Redis commands per bridge call: get ${describeCommands(commands.get)}; set ${describeCommands(commands.set)}`,
  );

  for (const { remote, state } of remotes) await remote.cleanup(state);
  await provider.cleanup(direct);
  await Promise.all([memoryBridge.close(), unixBridge.close(), tcpBridge.close()]);
  await Promise.all([unixStore.close(), tcpStore.close()]);
  await raw.close();

  const goal = (what: string, subject: Series, base: Series): Goal => {
    const ratio = ratioOf(subject, base);
    return {
      operation: `RemoteState.${what} via a bridge on Redis, unix socket (p50)`,
      measured: `${us(median(subject.p50))} (p99 ${us(percentile(subject.all, 99))})`,
      baseline: `in-memory bridge: ${us(median(base.p50))} (p99 ${us(percentile(base.all, 99))})`,
      ratio: x(ratio),
      goal: "≤ 1.5×",
      met: ratio <= 1.5,
    };
  };
  const reported = (what: string, subject: Series, base: Series): Goal => ({
    operation: `RemoteState.${what} via a bridge on Redis, TCP loopback (p50)`,
    measured: us(median(subject.p50)),
    baseline: `in-memory bridge: ${us(median(base.p50))}`,
    ratio: x(ratioOf(subject, base)),
    goal: "reported (≤ 1.5× is the unix socket's goal)",
    met: null,
  });
  return [
    goal("getVariable", s.unixGet, s.memoryGet),
    goal("setVariable", s.unixSet, s.memorySet),
    reported("getVariable", s.tcpGet, s.memoryGet),
    reported("setVariable", s.tcpSet, s.memorySet),
  ];
}

// ---- part 2: four Python workers ----

interface BridgeProcess {
  readonly address: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** A `dspex-bridge serve` process (on Redis when `store` is given), stopped by `stop`. */
async function bridgeProcess(store?: string): Promise<BridgeProcess> {
  // BENCH_CPU_PROF=<dir>: each bridge process writes a CPU profile there when it stops.
  const profile = process.env.BENCH_CPU_PROF;
  const args = profile === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profile}`];
  args.push(join(packageDir, "bin", "dspex-bridge.js"), "serve", "--host", "127.0.0.1");
  args.push("--port", "0", ...(store === undefined ? [] : ["--store", store]));
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  // Its log is shown only if it fails to start.
  let log = "";
  child.stderr.on("data", (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4_000);
  });
  const address = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", (line) =>
      resolve(line.replace("dspex-bridge listening on ", "").trim()),
    );
    child.once("exit", (code) => reject(new Error(`dspex-bridge exited ${code}:\n${log}`)));
  });
  return { address, pid: child.pid!, stop: () => stopChild(child, "SIGTERM") };
}

const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim());

/** A process's CPU so far (user + system), in µs, from /proc (Linux). */
function processCpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The fields after the command name: utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill(signal);
  });
}

interface WorkerAnswer {
  readonly target: string;
  readonly seconds: number;
  readonly bridge: string;
  readonly failovers: number;
  readonly latencies: Record<string, number[]>;
  readonly error?: string;
}

/** A Python worker (python/bench/bench_worker.py): one JSON answer per `go` line. */
class Worker {
  readonly pid: number;
  readonly #child: ChildProcess;
  readonly #lines: Interface;
  readonly #waiting: ((line: string) => void)[] = [];

  constructor(args: readonly string[]) {
    this.#child = spawn(PYTHON, [join(packageDir, "python", "bench", "bench_worker.py"), ...args], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    this.pid = this.#child.pid!;
    this.#lines = createInterface({ input: this.#child.stdout! });
    this.#lines.on("line", (line) => this.#waiting.shift()?.(line));
    this.#child.once("exit", (code) => {
      for (const waiter of this.#waiting.splice(0)) waiter(`{"error":"worker exited ${code}"}`);
    });
  }

  #next(): Promise<string> {
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  async ready(): Promise<void> {
    const line = await this.#next();
    if (line !== "ready") throw new Error(`a Python worker said ${line} instead of ready`);
  }

  async go(target: string, seconds: number): Promise<WorkerAnswer> {
    const answer = this.#next();
    this.#child.stdin!.write(`go ${target} ${seconds}\n`);
    const parsed = JSON.parse(await answer) as WorkerAnswer;
    if (parsed.error !== undefined) throw new Error(`a Python worker failed: ${parsed.error}`);
    return parsed;
  }

  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => {
      if (this.#child.exitCode !== null) resolve();
      else this.#child.once("exit", () => resolve());
    });
    this.#child.stdin!.end("quit\n");
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

interface WorkersResult {
  /** Per round: total ops/s of the four workers. */
  readonly opsPerSec: number[];
  /** Every latency of every round, by operation, sorted. */
  readonly latencies: Record<string, number[]>;
  readonly bridges: Set<string>;
  failovers: number;
  ops: number;
  /** CPU µs spent during the rounds, by side. */
  readonly cpu: { workers: number; bridges: number; redis: number };
  /** Redis commands sent during the rounds (Redis counts the ones a script runs too). */
  readonly commands: Record<string, number>;
}

/** Calls so far of each Redis command (INFO commandstats). */
async function commandCounts(server: TestServer): Promise<Record<string, number>> {
  const stats = await server.cli("INFO", "commandstats");
  const out: Record<string, number> = {};
  for (const match of stats.matchAll(/^cmdstat_([a-z|_-]+):calls=(\d+)/gm)) {
    out[match[1]!] = Number(match[2]);
  }
  return out;
}

/** The configurations the four workers take turns on. */
const CONFIGS = {
  memory: "one in-memory bridge (baseline)",
  redis: "two bridges on one Redis",
  redisOne: "one bridge on Redis (context)",
} as const;
type Config = keyof typeof CONFIGS;

async function pythonWorkers(redis: TestServer, lines: string[]): Promise<Goal[]> {
  const memory = await bridgeProcess();
  const a = await bridgeProcess(redis.url);
  const b = await bridgeProcess(redis.url);
  const bridges = [memory, a, b];
  const variables = 20;
  const sessions: { remote: RemoteState; state: BridgeClientState }[] = [];
  const workers: Worker[] = [];
  try {
    // The shared session and its variables, through the in-memory bridge and through bridge A.
    for (const address of [memory.address, a.address]) {
      const remote = new RemoteState({ address });
      const state = unwrap(await remote.init({ sessionId: "bench-workers" }));
      sessions.push({ remote, state });
      for (let i = 0; i < variables; i++) {
        unwrap(await remote.registerVariable(state, `p${i}`, "float", 0.5));
      }
    }
    // On Redis two workers start on A, two on B; each is given both addresses (it moves when
    // one fails). `redisOne`: all four on A, to tell the cost of Redis from that of two bridges.
    for (let i = 0; i < 4; i++) {
      const both = i % 2 === 0 ? `${a.address},${b.address}` : `${b.address},${a.address}`;
      workers.push(
        new Worker([
          ...["--target", `memory=${memory.address}`],
          ...["--target", `redis=${both}`],
          ...["--target", `redisOne=${a.address}`],
          ...["--session", "bench-workers", "--variables", String(variables)],
          ...["--seed", String(i + 1)],
        ]),
      );
    }
    await Promise.all(workers.map((worker) => worker.ready()));

    const seconds = 1;
    const rounds = 5;
    const results = {} as Record<Config, WorkersResult>;
    for (const config of Object.keys(CONFIGS) as Config[]) {
      results[config] = {
        opsPerSec: [],
        latencies: {},
        bridges: new Set(),
        failovers: 0,
        ops: 0,
        cpu: { workers: 0, bridges: 0, redis: 0 },
        commands: {},
      };
    }
    const bridgePids: Record<Config, number[]> = {
      memory: [memory.pid],
      redis: [a.pid, b.pid],
      redisOne: [a.pid],
    };
    const cpuNow = async (config: Config) => ({
      workers: workers.reduce((sum, worker) => sum + processCpuUs(worker.pid), 0),
      bridges: bridgePids[config].reduce((sum, pid) => sum + processCpuUs(pid), 0),
      redis: await redisCpuUs(() => redis.cli("INFO", "cpu")),
    });
    for (let round = 0; round < rounds; round++) {
      for (const config of shuffled(Object.keys(CONFIGS) as Config[])) {
        const commands0 = await commandCounts(redis);
        const cpu0 = await cpuNow(config);
        const answers = await Promise.all(workers.map((worker) => worker.go(config, seconds)));
        const cpu1 = await cpuNow(config);
        const commands1 = await commandCounts(redis);
        const result = results[config];
        for (const side of ["workers", "bridges", "redis"] as const) {
          result.cpu[side] += cpu1[side] - cpu0[side];
        }
        for (const [command, calls] of Object.entries(commands1)) {
          if (command === "info") continue;
          result.commands[command] =
            (result.commands[command] ?? 0) + calls - (commands0[command] ?? 0);
        }
        let ops = 0;
        for (const answer of answers) {
          result.bridges.add(answer.bridge);
          result.failovers = Math.max(result.failovers, answer.failovers);
          for (const [op, samples] of Object.entries(answer.latencies)) {
            ops += samples.length;
            result.latencies[op] = [...(result.latencies[op] ?? []), ...samples];
          }
        }
        result.ops += ops;
        // Each worker ran for `seconds` (they start within a millisecond of each other).
        result.opsPerSec.push(ops / median(answers.map((answer) => answer.seconds)));
      }
    }
    for (const result of Object.values(results)) {
      for (const samples of Object.values(result.latencies)) samples.sort((p, q) => p - q);
    }

    const base = results.memory;
    const ratioTo = (result: WorkersResult) =>
      median(result.opsPerSec.map((ops, i) => ops / base.opsPerSec[i]!));
    lines.push(
      `4 Python worker processes, mix get 50% / set 30% / get_many(10) 10% / update_many(10) 10% on ${variables} shared variables (${rounds} rounds of ${seconds} s per configuration, in a fresh order each round; ops/s: median of rounds, ratio: median of the rounds' ratios; p50/p99 over every call)`,
    );
    const perOp = (result: WorkersResult, side: keyof WorkersResult["cpu"]) =>
      us(result.cpu[side] / result.ops);
    for (const config of Object.keys(CONFIGS) as Config[]) {
      const result = results[config];
      lines.push(
        `  ${CONFIGS[config].padEnd(32)} ${median(result.opsPerSec).toFixed(0).padStart(6)} ops/s${config === "memory" ? "" : ` ${x(ratioTo(result))}`}  (rounds ${result.opsPerSec.map((ops) => ops.toFixed(0)).join(", ")}; workers on ${result.bridges.size} bridge(s), ${result.failovers} failovers)`,
      );
      for (const [op, samples] of Object.entries(result.latencies)) {
        lines.push(
          `    ${op.padEnd(18)} p50 ${us(percentile(samples, 50)).padStart(9)}  p99 ${us(percentile(samples, 99)).padStart(9)}  (${samples.length} calls)`,
        );
      }
      lines.push(
        `    CPU per op: workers ${perOp(result, "workers")}, bridge process(es) ${perOp(result, "bridges")}, redis-server ${perOp(result, "redis")}`,
      );
      if (config !== "memory") {
        const perCall = Object.fromEntries(
          Object.entries(result.commands).map(([command, calls]) => [command, calls / result.ops]),
        );
        lines.push(`    Redis commands per op: ${describeCommands(perCall)}`);
      }
    }
    const subject = results.redis;
    if (subject.bridges.size !== 2) {
      throw new Error(`the Redis workers used ${subject.bridges.size} bridge(s), not 2`);
    }
    const p50 = (result: WorkersResult, op: string) => us(percentile(result.latencies[op]!, 50));
    return [
      {
        operation: "4 Python workers, 2 bridges on one Redis (mix of get/set/batch)",
        measured: `${median(subject.opsPerSec).toFixed(0)} ops/s (get p50 ${p50(subject, "get")}, set p50 ${p50(subject, "set")}; bridges' cpu ${perOp(subject, "bridges")}/op)`,
        baseline: `4 workers on 1 in-memory bridge: ${median(base.opsPerSec).toFixed(0)} ops/s (get p50 ${p50(base, "get")}, set p50 ${p50(base, "set")}; bridge cpu ${perOp(base, "bridges")}/op)`,
        // On a shared machine ops/s swings with others' load; CPU per op holds better.
        ratio: `${x(ratioTo(subject))} ops/s (bridge cpu/op ${x(subject.cpu.bridges / subject.ops / (base.cpu.bridges / base.ops))})`,
        goal: "reported (issue 11: ops/s over 2 bridges)",
        met: null,
      },
    ];
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()));
    for (const { remote, state } of sessions) await remote.cleanup(state);
    await Promise.all(bridges.map((bridge) => bridge.stop()));
  }
}

async function main(part: string | undefined): Promise<void> {
  if (part !== undefined && part !== "single" && part !== "workers") {
    throw new Error(`expected no argument, "single" or "workers", got ${part}`);
  }
  const loadBefore = load();
  const redis = await startRedisServer({ tcp: true });
  const lines: string[] = [];
  let goals: Goal[];
  try {
    // INFO cpu goes on a connection of its own, so it never queues behind a measured call.
    const infoClient = createClient({ url: redis.url }).on("error", () => {});
    await infoClient.connect();
    const info = async () => String(await infoClient.sendCommand(["INFO", "cpu"]));
    try {
      goals = [
        ...(part === "workers" ? [] : await singleCalls(redis, info, lines)),
        ...(part === "single" ? [] : await pythonWorkers(redis, lines)),
      ];
    } finally {
      await infoClient.close();
    }
  } finally {
    await redis.stop();
  }
  const version = String(execFileSync("redis-server", ["--version"])).split(" ")[2];
  console.log(
    `bridge on Redis benchmark (node ${process.version}, redis ${version?.replace("v=", "")}, ${new Date().toISOString()}; load average ${loadBefore} before, ${load()} after)`,
  );
  for (const line of lines) console.log(line);
  reportGoals(packageDir, "redis-bridge", goals);
}

await main(process.argv[2]);
