// The distributed demo: one Redis, two bridges on it, a TypeScript program whose Context moves
// to Redis once it must survive a crash, two Python workers tuning the same variables through
// either bridge, and two kills (bridge A, then the program), ending with every variable's
// history checked against every write a client saw succeed. See the README, "Distributed".
import { randomBytes } from "node:crypto";
import { startRedisServer, type TestServer } from "@dspex/test-support";
import { formatValue } from "../changes.js";
import { SCORING } from "../program.js";
import { printTable } from "../report.js";
import { Shutdown } from "../shutdown.js";
import {
  checkPythonDependencies,
  DEFAULT_PYTHON,
  type OptimizerConfig,
  type WorkerMessage,
  WorkerProcess,
  type WorkerSummary,
} from "../worker-process.js";
import { type AcknowledgedWrite, checkHistories, type HistoryCheck } from "./history-check.js";
import { BridgeProcess, ProgramProcess } from "./processes.js";
import {
  type HistoryEntry,
  type ProgramMessage,
  type VersionSummary,
  workerWriteTag,
} from "./protocol.js";

const WORKERS = [
  { name: "w1", seed: 7 },
  { name: "w2", seed: 11 },
] as const;
const TRIALS = 50;
const OPTIMIZER: Omit<OptimizerConfig, "seed" | "worker"> = {
  trials: TRIALS,
  evalDelayMs: 50,
  latencySamples: 20,
  scoring: SCORING,
};
/**
 * Bridge A dies once both workers have reported this trial (so both are on it), the program at
 * its first step after both have reported the second one.
 */
const KILL_BRIDGE_AT_TRIAL = 6;
const KILL_PROGRAM_AT_TRIAL = 12;
/** How long the program stays dead: the workers go on without it meanwhile. */
const PROGRAM_DOWN_MS = 300;
/** Far above a normal run: only a hung worker hits it. */
const WORKER_TIMEOUT_MS = 30_000;
const PYTHON = process.env.DSPEX_PYTHON ?? DEFAULT_PYTHON;

const print = (line: string) => console.log(line);

/** Where the sessions live: `--redis URL`, or a redis-server of the demo's own. */
function redisOption(argv: readonly string[]): string | undefined {
  const at = argv.indexOf("--redis");
  if (at === -1) return undefined;
  const url = argv[at + 1];
  if (url === undefined || !/^(rediss?|unix):\/\//.test(url)) {
    throw new UsageError(
      `--redis needs a URL (redis://HOST:PORT, rediss://..., unix:///path), got ${url ?? "nothing"}`,
    );
  }
  return url;
}

class UsageError extends Error {}

/** What happened, for the summary. */
interface Story {
  redis: string;
  bridgeKilled?: { name: string; pid: number; trial: number };
  programKilled?: { pid: number; step: number };
  programRestarted?: { pid: number; step: number; versions: VersionSummary };
  failovers: { worker: string; trial: number; from: string; to: string }[];
  workers: Map<string, WorkerSummary>;
}

async function runDemo(shutdown: Shutdown): Promise<number> {
  const started = performance.now();
  const external = redisOption(process.argv);
  const missing = checkPythonDependencies(PYTHON);
  if (missing !== undefined) {
    console.error(missing);
    return 1;
  }
  print("DSPex example, distributed: two bridges on one Redis, two Python workers, two kills\n");

  print("1. Redis");
  const redisUrl = external ?? (await startOwnRedis(shutdown));
  if (external !== undefined) print(`  using ${external} (--redis)`);
  const token = randomBytes(24).toString("base64url");
  // The bridges boot while the program runs its first step; section 3 waits for them.
  const starting = ["A", "B"].map((name) => {
    const bridge = BridgeProcess.start(name, redisUrl, token);
    shutdown.defer(`bridge ${name}`, async () => (await bridge.catch(() => undefined))?.stop());
    return bridge;
  });
  for (const bridge of starting) bridge.catch(() => undefined);

  const story: Story = { redis: redisUrl, failovers: [], workers: new Map() };
  const acknowledged: AcknowledgedWrite[] = [];
  let moved: VersionSummary = {};
  let history: Readonly<Record<string, readonly HistoryEntry[]>> | undefined;
  let killProgramAtNextStep = false;
  let sessionId = "";

  print("\n2. The program starts on local state, then declares it must survive a crash");
  let program!: ProgramProcess;
  const switched = deferred<void>();
  const onProgram = (message: ProgramMessage) => {
    switch (message.event) {
      case "write":
        acknowledged.push({ name: message.name, version: message.version, tag: message.tag });
        break;
      case "step":
        print(
          `  step ${String(message.step).padStart(2)} [${message.backend.padEnd(10)}] score ${message.score.toFixed(4)}` +
            `  temperature=${formatValue(message.values.temperature)} max_tokens=${message.values.max_tokens}` +
            ` model=${message.values.model} prompt=${message.values.system_prompt.length} chars`,
        );
        if (killProgramAtNextStep) {
          killProgramAtNextStep = false;
          restarting = crashAndRestart(message.step);
          // Awaited after the workers finish; until then a failure must not go unhandled.
          restarting.catch(() => undefined);
        }
        break;
      case "change":
        print(
          `  change  ${message.name.padEnd(13)} ${formatValue(message.previousValue, 60)} -> ${formatValue(message.value, 60)}` +
            `  v${message.version}  ${message.write}`,
        );
        break;
      case "switched":
        sessionId = message.sessionId;
        moved = message.versions;
        print(
          `  require({ persistence, distribution }): switched ${message.from} -> ${message.to} in ` +
            `${message.durationMs.toFixed(2)} ms (${Object.keys(message.versions).length} variables, ${message.watches} watch moved)`,
        );
        print(
          `  session ${message.sessionId} now lives in Redis: ${formatVersions(message.versions)}`,
        );
        switched.resolve();
        break;
      case "reattached":
        story.programRestarted = {
          pid: program.pid,
          step: message.step,
          versions: message.versions,
        };
        print(
          `  ** program restarted (pid ${program.pid}): Context.create({ sessionId, needs }) reattached to ` +
            `${message.sessionId} on ${message.backend}, at step ${message.step}: ${formatVersions(message.versions)}`,
        );
        reattached.resolve();
        break;
      case "history":
        history = message.variables;
        break;
      default:
        break;
    }
  };
  const reattached = deferred<void>();
  // Any program instance that fails (not one the demo killed) ends the run.
  const programFailed = deferred<never>();
  const startProgram = async (restartSession?: string) => {
    program = await ProgramProcess.start({
      redisUrl,
      ...(restartSession === undefined ? {} : { sessionId: restartSession }),
      onMessage: onProgram,
    });
    // Always the current instance: a killed one is already gone.
    const instance = program;
    instance.finished.catch((error: unknown) => programFailed.reject(error));
    shutdown.defer(`program (pid ${instance.pid})`, () => instance.stop());
    return instance;
  };
  /** The crash of the program and its restart, once under way. */
  let restarting: Promise<void> | undefined;
  const crashAndRestart = async (step: number) => {
    const victim = program;
    await victim.kill();
    story.programKilled = { pid: victim.pid, step };
    print(
      `  ** SIGKILL the program (pid ${victim.pid}) after step ${step}; the workers go on alone`,
    );
    await delay(PROGRAM_DOWN_MS);
    await startProgram(sessionId);
    await Promise.race([reattached.promise, programFailed.promise]);
  };
  const first = await startProgram();
  print(`  program started (pid ${first.pid})`);
  await Promise.race([switched.promise, programFailed.promise]);

  print(
    "\n3. Two bridges on the same Redis; two Python workers, each given both, tune the variables",
  );
  const bridges = await Promise.all(starting);
  for (const bridge of bridges) {
    print(
      `  bridge ${bridge.name} listening on ${bridge.address} (pid ${bridge.pid}), sessions in Redis`,
    );
  }
  const [bridgeA, bridgeB] = bridges as [BridgeProcess, BridgeProcess];
  const bridgeName = new Map(bridges.map((bridge) => [bridge.address, bridge.name]));
  const named = (address: string) => `${bridgeName.get(address) ?? "?"} (${address})`;
  const addresses = `${bridgeA.address},${bridgeB.address}`;
  const onWorker = (name: string) => (message: WorkerMessage) => {
    switch (message.event) {
      case "latency":
        print(`  ${name}: connected through bridge ${named(message.address)}`);
        break;
      case "write":
        acknowledged.push({
          name: message.name,
          version: message.version,
          tag: workerWriteTag(name, message.trial),
        });
        break;
      case "conflict":
        print(
          `  ${name}: trial ${message.trial} compare-and-set conflict (${message.message}); re-reading and retrying`,
        );
        break;
      case "failover":
        story.failovers.push({
          worker: name,
          trial: message.trial,
          from: message.previous,
          to: message.address,
        });
        print(
          `  ${name}: bridge ${named(message.previous)} unreachable during trial ${message.trial}; ` +
            `its calls went on through bridge ${named(message.address)}`,
        );
        break;
      case "trial":
        if (message.trial % 10 === 0) {
          print(
            `  ${name}: trial ${message.trial}/${message.trials} best score ${message.best.toFixed(4)}`,
          );
        }
        trials.set(name, message.trial);
        if (trials.size < WORKERS.length) break;
        if (Math.min(...trials.values()) === KILL_BRIDGE_AT_TRIAL && !bridgeA.killed) {
          void killBridge(KILL_BRIDGE_AT_TRIAL);
        }
        if (Math.min(...trials.values()) === KILL_PROGRAM_AT_TRIAL && restarting === undefined) {
          killProgramAtNextStep = true;
        }
        break;
      case "error":
        print(`  ${name} error: ${message.message}`);
        break;
      default:
        break;
    }
  };
  /** worker -> the last trial it reported. */
  const trials = new Map<string, number>();
  const killBridge = async (trial: number) => {
    await bridgeA.kill();
    story.bridgeKilled = { name: bridgeA.name, pid: bridgeA.pid, trial };
    print(`  ** SIGKILL bridge A (pid ${bridgeA.pid}), both workers past trial ${trial}`);
  };
  const workers: WorkerProcess[] = [];
  for (const { name, seed } of WORKERS) {
    const worker = await WorkerProcess.start({
      python: PYTHON,
      address: addresses,
      token,
      sessionId,
      config: { ...OPTIMIZER, seed, worker: name },
      timeoutMs: WORKER_TIMEOUT_MS,
      onMessage: onWorker(name),
      onOutput: (line) => print(`  ${name} says: ${line}`),
    });
    shutdown.defer(`worker ${name}`, () => worker.stop());
    workers.push(worker);
    print(`  worker ${name} started (pid ${worker.pid}), bridges ${addresses}`);
  }
  const summaries = await Promise.all(
    workers.map((worker) => Promise.race([worker.finished, programFailed.promise])),
  );
  for (const [i, { name }] of WORKERS.entries()) story.workers.set(name, summaries[i]!);
  if (restarting === undefined) {
    throw new Error("the workers finished before the program was killed");
  }
  await restarting;

  print("\n4. The run ends: every variable's history, read back from Redis");
  for (const [name, summary] of story.workers) {
    print(
      `  ${name}: done, ${TRIALS}/${TRIALS} trials, ${summary.writes} writes, ${summary.conflicts} conflict(s), ` +
        `${summary.failovers} failover(s), best score ${summary.best_score.toFixed(4)}`,
    );
  }
  program.finish();
  await program.finished;
  if (history === undefined) throw new Error("the program did not report the history");
  const check = checkHistories(history, moved, acknowledged);
  printHistory(check);

  printSummary(story, check, bridgeB, sessionId, external !== undefined);
  if (!check.ok) {
    console.error(
      "\ndemo failed: the history check found lost, duplicate or unacknowledged writes",
    );
    return 1;
  }
  print(
    `\nDone in ${((performance.now() - started) / 1000).toFixed(1)} s; stopping the workers, the program, ` +
      `bridge B${external === undefined ? " and redis-server" : ""}.`,
  );
  return 0;
}

async function startOwnRedis(shutdown: Shutdown): Promise<string> {
  const server: TestServer = await startRedisServer();
  shutdown.defer("redis-server", () => server.stop());
  const version = /redis_version:(\S+)/.exec(await server.cli("INFO", "server"))?.[1] ?? "?";
  print(
    `  redis-server ${version} started on ${server.url} (the demo's own; --redis URL uses another)`,
  );
  return server.url;
}

function printHistory(check: HistoryCheck): void {
  printTable(
    [
      "variable",
      "versions",
      "consecutive",
      "acknowledged writes found",
      "lost",
      "applied twice",
      "unacknowledged",
    ],
    check.variables.map((v) => [
      v.name,
      `v${v.first}..v${v.last}`,
      v.consecutive && v.startsAtSwitch ? "yes" : "NO",
      `${v.confirmed}/${v.confirmed + v.lost.length}`,
      String(v.lost.length),
      String(v.duplicates.length),
      String(v.unacknowledged.length),
    ]),
    print,
  );
  for (const v of check.variables) {
    for (const write of v.lost) print(`  LOST ${write.tag}: ${v.name} v${write.version}`);
    for (const tag of v.duplicates) print(`  APPLIED TWICE ${tag}: ${v.name}`);
    for (const version of v.unacknowledged) print(`  UNACKNOWLEDGED ${v.name} v${version}`);
  }
}

function printSummary(
  story: Story,
  check: HistoryCheck,
  survivor: BridgeProcess,
  sessionId: string,
  externalRedis: boolean,
): void {
  const { bridgeKilled, programKilled, programRestarted } = story;
  const workers = [...story.workers.keys()].join(" and ");
  const failovers = [...story.workers.values()].reduce((sum, w) => sum + w.failovers, 0);
  print("\nSummary");
  if (bridgeKilled !== undefined) {
    print(
      `  killed    bridge ${bridgeKilled.name} (pid ${bridgeKilled.pid}), SIGKILL once both workers were past trial ${bridgeKilled.trial}: ` +
        `${failovers} failover(s) to bridge ${survivor.name}, no call failed`,
    );
  }
  if (programKilled !== undefined && programRestarted !== undefined) {
    print(
      `  killed    program (pid ${programKilled.pid}), SIGKILL after step ${programKilled.step}: restarted as pid ` +
        `${programRestarted.pid}, resumed at step ${programRestarted.step + 1} from the versions in Redis`,
    );
  }
  print(
    `  survived  ${externalRedis ? "Redis" : "redis-server"}, bridge ${survivor.name}, workers ${workers} ` +
      `(each ${TRIALS}/${TRIALS} trials), session ${sessionId}`,
  );
  const verdict = check.ok ? "all there once" : "NOT all there once";
  print(
    `  history   ${check.versions} versions of ${check.variables.length} variables, ` +
      `${check.variables.every((v) => v.consecutive && v.startsAtSwitch) ? "consecutive" : "NOT consecutive"}; ` +
      `${check.acknowledged} acknowledged writes, ${verdict}: ${check.lost} lost, ` +
      `${check.duplicates} applied twice, ${check.unacknowledged} unacknowledged`,
  );
}

function formatVersions(versions: VersionSummary): string {
  return Object.entries(versions)
    .map(([name, version]) => `${name} v${version}`)
    .join(", ");
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const shutdown = new Shutdown();
  shutdown.exitOnSignals(print, "the workers, the program, the bridges and redis-server");
  let code = 1;
  try {
    code = await runDemo(shutdown);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(error.message);
      code = 2;
    } else if (shutdown.interrupted === undefined) {
      console.error(`\ndemo failed: ${(error as Error).message}`);
    }
  }
  await shutdown.run();
  if (shutdown.interrupted === undefined) process.exitCode = code;
}

await main();
