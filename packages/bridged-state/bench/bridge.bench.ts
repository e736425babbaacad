/*
 * Bridge benchmark: RemoteState itself (the client users call) against a raw grpc-js echo
 * method on an identical server (same grpc.Server options and interceptor) that moves the same
 * bytes, measured in interleaved rounds of the same run; the ratio is the median of the rounds'
 * ratios, with CPU time (process.cpuUsage, client and server share this process) beside it.
 * Also batches of 100 against one RemoteState get, the opt-in read cache, the first gets on a
 * freshly started bridge process, and the latency from a set to the watcher's notification.
 * Every goal of the performance issue is written for `pnpm bench`'s closing table.
 * Run: `pnpm bench` (about two minutes).
 */
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { unwrap } from "@dspex/state-provider";
import * as grpc from "@grpc/grpc-js";
import { type Goal, reportGoals } from "../../../scripts/bench-goals.mjs";
import { RemoteState } from "../src/client/remote-state.js";
import { BridgeServer, bind, createGrpcServer } from "../src/server/bridge-server.js";
import type { BridgeServiceClient } from "../src/wire/generated/snakepit/bridge/BridgeService.js";
import type { VariableUpdate__Output } from "../src/wire/generated/snakepit/bridge/VariableUpdate.js";
import { loadBridgeProto } from "../src/wire/proto.js";
import { median, percentile, shuffled, us, x } from "./stats.js";

const SESSION = "bench";
const identity = (b: Buffer) => b;

/** A hand-made service with one unary method that answers the bytes it gets. */
const ECHO_SERVICE: grpc.ServiceDefinition = {
  Echo: {
    path: "/bench.Echo/Echo",
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

type Call = () => Promise<unknown>;

/**
 * Every RemoteState call carries a deadline (its `deadlineMs`, 5 s by default): a grpc-timeout
 * header and a timer on each side, about 5% of a small call. The raw calls measured beside it
 * carry the same, so the ratio is RemoteState's own cost; the bare echo is shown too.
 */
const DEADLINE_MS = 5_000;
const withDeadline = () => ({ deadline: Date.now() + DEADLINE_MS });

function unary(client: BridgeServiceClient, method: string, request: object): Promise<unknown> {
  return new Promise((resolve, reject) => {
    (client as unknown as Record<string, (...a: unknown[]) => void>)[method]!.call(
      client,
      request,
      new grpc.Metadata(),
      withDeadline(),
      (error: Error | null, response: unknown) => (error ? reject(error) : resolve(response)),
    );
  });
}

interface Stats {
  p50: number;
  p99: number;
  opsPerSec: number;
}

/** Runs `total` calls with `inFlight` outstanding at a time; latencies in microseconds. */
async function measure(call: Call, total: number, inFlight: number): Promise<Stats> {
  const { latencies, seconds } = await run_(call, total, inFlight);
  latencies.sort((a, b) => a - b);
  return {
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    opsPerSec: total / seconds,
  };
}

async function run_(
  call: Call,
  total: number,
  inFlight: number,
): Promise<{ latencies: number[]; seconds: number }> {
  const latencies: number[] = [];
  let issued = 0;
  const started = performance.now();
  async function worker(): Promise<void> {
    while (issued < total) {
      issued++;
      const t0 = performance.now();
      await call();
      latencies.push((performance.now() - t0) * 1000);
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { latencies, seconds: (performance.now() - started) / 1000 };
}

const fmt = (n: number) => n.toFixed(0).padStart(8);
/** One round of each call in turn, `rounds` times: per call, per round, µs/op and CPU µs/op. */
async function rounds<K extends string>(
  calls: Record<K, Call>,
  count: number,
  perRound: number,
  inFlight: number,
): Promise<Record<K, { wall: number[]; cpu: number[]; p50: number[] }>> {
  const names = Object.keys(calls) as K[];
  const out = {} as Record<K, { wall: number[]; cpu: number[]; p50: number[] }>;
  for (const name of names) out[name] = { wall: [], cpu: [], p50: [] };
  for (let round = 0; round < count; round++) {
    // Each round in a fresh order: a fixed order favours whoever follows the same call.
    for (const name of shuffled(names)) {
      const cpu0 = process.cpuUsage();
      const run = await run_(calls[name], perRound, inFlight);
      const cpu = process.cpuUsage(cpu0);
      run.latencies.sort((a, b) => a - b);
      out[name].wall.push((run.seconds * 1e6) / perRound);
      out[name].cpu.push((cpu.user + cpu.system) / perRound);
      out[name].p50.push(percentile(run.latencies, 50));
    }
  }
  return out;
}

/** Median over rounds of the per-round ratio (a noisy moment hits both sides of one round). */
function ratioOf(
  subject: { wall: number[]; cpu: number[]; p50: number[] },
  base: { wall: number[]; cpu: number[]; p50: number[] },
  field: "wall" | "cpu" | "p50",
): number {
  return median(subject[field].map((v, i) => v / base[field][i]!));
}

const here = dirname(fileURLToPath(import.meta.url));
const packageDir = join(here, "..");

const FRESH_STARTS = 7;
/** Rounds of the batch comparison: a batch is ten times a get's work, so its rounds vary more. */
const BATCH_ROUNDS = 25;
/** Rounds at 64 in flight: across this session's runs 9 rounds put the ratio anywhere in 0.95-1.19×. */
const PARALLEL_ROUNDS = 15;

/** Calls a bridge makes through itself before it says it listens (`--warm-up`). */
const WARM_UP_CALLS = 4000;

/** A `dspex-bridge serve` process of its own: a server whose code has not run yet. */
async function freshBridge(
  extra: readonly string[],
): Promise<{ address: string; stop: () => Promise<void> }> {
  const child = spawn(
    process.execPath,
    [
      join(packageDir, "bin", "dspex-bridge.js"),
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      ...extra,
    ],
    { stdio: ["ignore", "pipe", "ignore"] },
  );
  const lines = createInterface({ input: child.stdout });
  const address = await new Promise<string>((resolve, reject) => {
    lines.once("line", (line) => resolve(line.replace("dspex-bridge listening on ", "").trim()));
    child.once("exit", (code) => reject(new Error(`dspex-bridge exited ${code}`)));
  });
  return {
    address,
    stop: () =>
      new Promise((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

/**
 * The first 300 gets on a bridge process just started, and 300 more once it is warm. Each get
 * is paired with one on `control`, a bridge process warm all along: the machine's speed drifts
 * within seconds, and the control's calls, made in the same moments, take that out of the ratio.
 */
async function coldStart(
  extra: readonly string[],
  control: () => Promise<unknown>,
): Promise<{ cold: number; warm: number; ratio: number }> {
  const bridge = await freshBridge(extra);
  const remote = new RemoteState({ address: bridge.address });
  const state = unwrap(await remote.init({ sessionId: "cold" }));
  unwrap(await remote.registerVariable(state, "temperature", "float", 0.7));
  const get = async () => unwrap(await remote.getVariable(state, "temperature"));
  const paired = async (count: number) => {
    let subject = 0;
    let baseline = 0;
    for (let i = 0; i < count; i++) {
      let t0 = performance.now();
      await get();
      subject += performance.now() - t0;
      t0 = performance.now();
      await control();
      baseline += performance.now() - t0;
    }
    return { us: (subject * 1000) / count, relative: subject / baseline };
  };
  const cold = await paired(300);
  for (let i = 0; i < 5_000; i++) await get();
  const warm = await paired(300);
  await remote.cleanup(state);
  await bridge.stop();
  return { cold: cold.us, warm: warm.us, ratio: cold.relative / warm.relative };
}

async function main(): Promise<void> {
  const bridge = await BridgeServer.start();
  const echoServer = createGrpcServer({}, { shuttingDown: false });
  echoServer.addService(ECHO_SERVICE, {
    Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) =>
      callback(null, call.request),
  });
  const echoPort = await bind(echoServer, "127.0.0.1", 0, grpc.ServerCredentials.createInsecure());

  const { grpcObject } = loadBridgeProto();
  const client = new grpcObject.snakepit.bridge.BridgeService(
    bridge.address,
    grpc.credentials.createInsecure(),
  );
  const EchoClient = grpc.makeGenericClientConstructor(ECHO_SERVICE, "Echo");
  const echoClient = new EchoClient(`127.0.0.1:${echoPort}`, grpc.credentials.createInsecure());

  const remote = new RemoteState({ address: bridge.address });
  const state = unwrap(await remote.init({ sessionId: SESSION }));
  unwrap(
    await remote.registerVariable(state, "temperature", "float", 0.7, {
      constraints: { min: 0, max: 2 },
    }),
  );
  const ids = Array.from({ length: 100 }, (_, i) => `v${i}`);
  for (const [i, id] of ids.entries())
    unwrap(await remote.registerVariable(state, id, "integer", i));

  // The echo answers as many bytes as RemoteState's GetVariable answer holds.
  const getRequest = {
    session_id: SESSION,
    variable_identifier: "temperature",
    prefer_binary: true,
  };
  const methods = grpcObject.snakepit.bridge.BridgeService.service;
  const answer = await unary(client, "GetVariable", getRequest);
  const payload = Buffer.alloc(methods.GetVariable.responseSerialize(answer as never).length, 7);

  type EchoMethod = {
    Echo(
      b: Buffer,
      metadata: grpc.Metadata,
      options: grpc.CallOptions,
      cb: (e: Error | null, r: Buffer) => void,
    ): void;
    Echo(b: Buffer, cb: (e: Error | null, r: Buffer) => void): void;
  };
  const echo: Call = () =>
    new Promise((resolve, reject) =>
      (echoClient as unknown as EchoMethod).Echo(
        payload,
        new grpc.Metadata(),
        withDeadline(),
        (e, r) => (e ? reject(e) : resolve(r)),
      ),
    );
  const bareEcho: Call = () =>
    new Promise((resolve, reject) =>
      (echoClient as unknown as EchoMethod).Echo(payload, (e, r) => (e ? reject(e) : resolve(r))),
    );
  const rawGet: Call = () => unary(client, "GetVariable", getRequest);
  const get: Call = async () => unwrap(await remote.getVariable(state, "temperature"));
  let n = 0;
  const set: Call = async () =>
    unwrap(await remote.setVariable(state, "temperature", (++n % 100) / 100));
  const getMany: Call = async () => unwrap(await remote.getVariables(state, ids));
  const updates = Object.fromEntries(ids.map((id, i) => [id, i]));
  const updateMany: Call = async () => {
    for (const id of ids) updates[id] = ((updates[id] as number) + 1) % 1000;
    unwrap(await remote.updateVariables(state, updates));
  };

  // Warm up JIT and connections.
  for (const call of [echo, bareEcho, rawGet, get, set, getMany, updateMany])
    await measure(call, 1_500, 16);

  const seq = await rounds({ echo, bareEcho, rawGet, get, set }, 15, 400, 1);
  const par = await rounds({ echo, rawGet, get }, PARALLEL_ROUNDS, 4_000, 64);
  const batch = await rounds({ get, getMany, updateMany }, BATCH_ROUNDS, 100, 1);

  // The cached read: back to back, in rounds, beside an awaited Map.get. Opened only now: its
  // watch stream would add the server's watch messages to the writes measured above.
  const cachedRemote = new RemoteState({ address: bridge.address, readCache: true });
  const cachedState = unwrap(await cachedRemote.init({ sessionId: SESSION }));
  if (!(await cachedRemote.waitUntilCached(cachedState, ["temperature"])))
    throw new Error("the read cache did not fill");
  const cachedGet: Call = async () =>
    unwrap(await cachedRemote.getVariable(cachedState, "temperature"));
  const map = new Map([["temperature", 0.7]]);
  const cached: number[] = [];
  for (let round = 0; round < 7; round++) {
    const t0 = performance.now();
    for (let i = 0; i < 20_000; i++) await cachedGet();
    cached.push(((performance.now() - t0) * 1000) / 20_000);
  }
  let mapSum = 0;
  const t0 = performance.now();
  for (let i = 0; i < 20_000; i++) mapSum += (await map.get("temperature")) ?? 0;
  const mapUs = ((performance.now() - t0) * 1000) / 20_000;
  if (mapSum === 0) throw new Error("the map lost its entry");
  const stats = cachedRemote.cacheStats(cachedState);
  if (stats === undefined || stats.misses > 1) throw new Error("cached reads went to the server");

  const results: string[] = [];
  const line = (
    name: string,
    s: { wall: number[]; cpu: number[]; p50: number[] },
    base?: typeof s,
  ) =>
    `${name.padEnd(34)} p50 ${us(median(s.p50)).padStart(9)}  ${us(median(s.wall)).padStart(9)}/op  cpu ${us(median(s.cpu)).padStart(9)}/op${
      base === undefined
        ? ""
        : `   ${x(ratioOf(s, base, "p50"))} p50, ${x(ratioOf(s, base, "wall"))} wall, ${x(ratioOf(s, base, "cpu"))} cpu`
    }`;
  const echoName = `  raw echo (${payload.length} B, deadline)`;
  results.push("1 in flight (median of 15 interleaved rounds; ratios to the echo)");
  results.push(line(echoName, seq.echo));
  results.push(line("  raw echo without a deadline", seq.bareEcho, seq.echo));
  results.push(line("  raw GetVariable (proto-loader)", seq.rawGet, seq.echo));
  results.push(line("  RemoteState.getVariable", seq.get, seq.echo));
  results.push(line("  RemoteState.setVariable", seq.set, seq.echo));
  results.push(`64 in flight (median of ${PARALLEL_ROUNDS} rounds; time per op is 1 / throughput)`);
  results.push(line(echoName, par.echo));
  results.push(line("  raw GetVariable (proto-loader)", par.rawGet, par.echo));
  results.push(line("  RemoteState.getVariable", par.get, par.echo));
  results.push(
    `100 variables (median of ${BATCH_ROUNDS} interleaved rounds; ratios to one RemoteState.getVariable)`,
  );
  results.push(line("  RemoteState.getVariable", batch.get));
  results.push(line("  RemoteState.getVariables(100)", batch.getMany, batch.get));
  results.push(line("  RemoteState.updateVariables(100)", batch.updateMany, batch.get));
  results.push("read cache (readCache: true)");
  results.push(
    `  cached getVariable               ${us(median(cached))}/op (await Map.get ${us(mapUs)})`,
  );

  // Watch notification latency: from issuing a set to the watcher's message.
  const watchLatencies: number[] = [];
  const stream = client.WatchVariables({
    session_id: SESSION,
    variable_identifiers: ["temperature"],
  });
  let pending: { t0: number; resolve: () => void } | undefined;
  stream.on("data", (update: VariableUpdate__Output) => {
    if (update.update_type !== "value_change" || pending === undefined) return;
    watchLatencies.push((performance.now() - pending.t0) * 1000);
    const done = pending.resolve;
    pending = undefined;
    done();
  });
  stream.on("error", () => {});
  await new Promise((resolve) => stream.on("metadata", resolve));
  for (let i = 0; i < 2_000; i++) {
    await new Promise<void>((resolve) => {
      pending = { t0: performance.now(), resolve };
      void set();
    });
  }
  stream.cancel();
  watchLatencies.sort((a, b) => a - b);
  results.push("watch");
  results.push(
    `  set -> watcher notified           p50 ${fmt(percentile(watchLatencies, 50))} µs  p99 ${fmt(percentile(watchLatencies, 99))} µs`,
  );

  await cachedRemote.cleanup(cachedState);
  await remote.cleanup(state);
  client.close();
  echoClient.close();
  await bridge.close();
  await new Promise<void>((resolve) => echoServer.tryShutdown(() => resolve()));

  // Last: a bridge process of its own, started with --warm-up (the goal) and without,
  // FRESH_STARTS each (this machine's speed drifts by a third within a minute: one start proves
  // little).
  const controlBridge = await freshBridge([]);
  const controlRemote = new RemoteState({ address: controlBridge.address });
  const controlState = unwrap(await controlRemote.init({ sessionId: "control" }));
  unwrap(await controlRemote.registerVariable(controlState, "temperature", "float", 0.7));
  const control = async () => unwrap(await controlRemote.getVariable(controlState, "temperature"));
  for (let i = 0; i < 10_000; i++) await control();
  const startsOf = async (extra: readonly string[]) => {
    const runs: { cold: number; warm: number; ratio: number }[] = [];
    for (let i = 0; i < FRESH_STARTS; i++) runs.push(await coldStart(extra, control));
    return { runs, ratio: median(runs.map((r) => r.ratio)) };
  };
  const warmedUp = await startsOf(["--warm-up", String(WARM_UP_CALLS)]);
  const plain = await startsOf([]);
  await controlRemote.cleanup(controlState);
  await controlBridge.stop();
  const starts = warmedUp.runs;
  const coldRatio = warmedUp.ratio;
  for (const [label, { runs, ratio }] of [
    [`with --warm-up ${WARM_UP_CALLS}`, warmedUp],
    ["without --warm-up", plain],
  ] as const) {
    results.push(
      `fresh bridge process ${label} (median of ${FRESH_STARTS} starts; each get paired with one on a warm bridge)`,
    );
    results.push(
      `  first 300 gets ${us(median(runs.map((s) => s.cold)))}/op, warm ${us(median(runs.map((s) => s.warm)))}/op: ${x(ratio)}`,
    );
  }

  console.log(`dspex-bridge benchmark (node ${process.version}, ${new Date().toISOString()})`);
  for (const text of results) console.log(text);

  const seqRatio = ratioOf(seq.get, seq.echo, "p50");
  const parRatio = ratioOf(par.get, par.echo, "wall");
  const manyRatio = ratioOf(batch.getMany, batch.get, "p50");
  const updateRatio = ratioOf(batch.updateMany, batch.get, "p50");
  const cachedUs = median(cached);
  const goals: Goal[] = [
    {
      operation: "RemoteState.getVariable, 1 in flight (p50)",
      measured: us(median(seq.get.p50)),
      baseline: `raw grpc-js echo, same bytes and deadline: ${us(median(seq.echo.p50))}`,
      ratio: `${x(seqRatio)} (cpu ${x(ratioOf(seq.get, seq.echo, "cpu"))}; ${x(ratioOf(seq.get, seq.bareEcho, "p50"))} to an echo without a deadline)`,
      goal: "≤ 1.10×",
      met: seqRatio <= 1.1,
    },
    {
      operation: "RemoteState.getVariable, 64 in flight (time/op)",
      measured: us(median(par.get.wall)),
      baseline: `same echo: ${us(median(par.echo.wall))}`,
      ratio: `${x(parRatio)} (cpu ${x(ratioOf(par.get, par.echo, "cpu"))})`,
      goal: "≤ 1.15×",
      met: parRatio <= 1.15,
    },
    {
      operation: "RemoteState.getVariables(100) (p50)",
      measured: us(median(batch.getMany.p50)),
      baseline: `one RemoteState get: ${us(median(batch.get.p50))}`,
      ratio: x(manyRatio),
      goal: "≤ 2.0×",
      met: manyRatio <= 2,
    },
    {
      operation: "RemoteState.updateVariables(100) (p50)",
      measured: us(median(batch.updateMany.p50)),
      baseline: `one RemoteState get: ${us(median(batch.get.p50))}`,
      ratio: x(updateRatio),
      goal: "≤ 2.0×",
      met: updateRatio <= 2,
    },
    {
      operation: "RemoteState cached getVariable (readCache)",
      measured: us(cachedUs),
      baseline: `await Map.get: ${us(mapUs)}`,
      ratio: us(cachedUs),
      goal: "≤ 2 µs",
      met: cachedUs <= 2,
    },
    {
      operation: `first 300 gets on a freshly started bridge (--warm-up ${WARM_UP_CALLS}; without: ${x(plain.ratio)})`,
      measured: us(median(starts.map((s) => s.cold))),
      baseline: `the same calls once warm: ${us(median(starts.map((s) => s.warm)))} (both timed against a warm bridge, call for call)`,
      ratio: x(coldRatio),
      goal: "≤ 1.2×",
      met: coldRatio <= 1.2,
    },
  ];
  reportGoals(packageDir, "bridge", goals);
}

await main();
