/*
 * Bridge benchmark: get and set through the BridgeService from a TypeScript gRPC client, next to
 * a raw grpc-js echo method on an identical server (same grpc.Server options and interceptor),
 * measured in the same run. Also a batch get of 100 against 100 single gets, and the latency
 * from a set to the watcher's notification. Run: `pnpm bench` (about 30 s).
 */
import { performance } from "node:perf_hooks";
import * as grpc from "@grpc/grpc-js";
import { BridgeServer, bind, createGrpcServer } from "../src/server/bridge-server.js";
import type { BridgeServiceClient } from "../src/wire/generated/snakepit/bridge/BridgeService.js";
import type { VariableUpdate__Output } from "../src/wire/generated/snakepit/bridge/VariableUpdate.js";
import { loadBridgeProto } from "../src/wire/proto.js";

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

function unary(client: BridgeServiceClient, method: string, request: object): Promise<unknown> {
  return new Promise((resolve, reject) => {
    (client as unknown as Record<string, (...a: unknown[]) => void>)[method]!.call(
      client,
      request,
      (error: Error | null, response: unknown) => (error ? reject(error) : resolve(response)),
    );
  });
}

interface Stats {
  p50: number;
  p99: number;
  opsPerSec: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

/**
 * Measures several calls in alternating rounds (echo, get, set, echo, ...) so a noisy moment on
 * the machine hits all of them alike; latencies and throughput are pooled per call.
 */
async function interleaved<K extends string>(
  calls: Record<K, Call>,
  rounds: number,
  perRound: number,
  inFlight: number,
): Promise<Record<K, Stats>> {
  const pooled = {} as Record<K, { latencies: number[]; seconds: number; total: number }>;
  for (const name of Object.keys(calls) as K[])
    pooled[name] = { latencies: [], seconds: 0, total: 0 };
  for (let round = 0; round < rounds; round++) {
    for (const name of Object.keys(calls) as K[]) {
      const run = await run_(calls[name], perRound, inFlight);
      pooled[name].latencies.push(...run.latencies);
      pooled[name].seconds += run.seconds;
      pooled[name].total += perRound;
    }
  }
  const out = {} as Record<K, Stats>;
  for (const name of Object.keys(calls) as K[]) {
    const { latencies, seconds, total } = pooled[name];
    latencies.sort((a, b) => a - b);
    out[name] = {
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      opsPerSec: total / seconds,
    };
  }
  return out;
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
function row(name: string, s: Stats, baseline?: Stats): string {
  const ratio = baseline === undefined ? "" : `   p50 ${(s.p50 / baseline.p50).toFixed(2)}x echo`;
  return `${name.padEnd(34)} p50 ${fmt(s.p50)} µs  p99 ${fmt(s.p99)} µs  ${fmt(s.opsPerSec)} ops/s${ratio}`;
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

  await unary(client, "InitializeSession", { session_id: SESSION });
  const anyOf = (type: string, value: unknown) => ({
    type_url: `type.googleapis.com/snakepit.${type}`,
    value: Buffer.from(JSON.stringify(value)),
  });
  await unary(client, "RegisterVariable", {
    session_id: SESSION,
    name: "temperature",
    type: "float",
    initial_value: anyOf("float", 0.7),
    constraints_json: '{"min":0,"max":2}',
  });
  for (let i = 0; i < 100; i++) {
    await unary(client, "RegisterVariable", {
      session_id: SESSION,
      name: `v${i}`,
      type: "integer",
      initial_value: anyOf("integer", i),
    });
  }
  const getRequest = { session_id: SESSION, variable_identifier: "temperature" };
  // The echo answers as many bytes as a GetVariable answer holds, so both move the same bytes.
  const methods = grpcObject.snakepit.bridge.BridgeService.service;
  const answer = await unary(client, "GetVariable", getRequest);
  const payload = Buffer.alloc(methods.GetVariable.responseSerialize(answer as never).length, 7);

  const echo: Call = () =>
    new Promise((resolve, reject) =>
      (
        echoClient as unknown as {
          Echo: (b: Buffer, cb: (e: Error | null, r: Buffer) => void) => void;
        }
      ).Echo(payload, (e, r) => (e ? reject(e) : resolve(r))),
    );
  const get: Call = () => unary(client, "GetVariable", getRequest);
  let n = 0;
  const set: Call = () =>
    unary(client, "SetVariable", {
      session_id: SESSION,
      variable_identifier: "temperature",
      value: anyOf("float", (++n % 100) / 100),
    });

  // Warm up JIT and connections.
  for (const call of [echo, get, set]) await measure(call, 2_000, 16);

  const results: string[] = [];
  const seq = await interleaved({ echo, get, set }, 8, 600, 1);
  const par = await interleaved({ echo, get, set }, 4, 6_000, 64);
  const echoName = `  echo (raw grpc-js, ${payload.length} B)`;
  results.push("sequential (1 in flight)");
  results.push(row(echoName, seq.echo));
  results.push(row("  GetVariable", seq.get, seq.echo));
  results.push(row("  SetVariable", seq.set, seq.echo));
  results.push("64 in flight");
  results.push(row(echoName, par.echo));
  results.push(row("  GetVariable", par.get, par.echo));
  results.push(row("  SetVariable", par.set, par.echo));

  // Batch get of 100 against 100 single gets (sequential, as a worker reading its variables).
  const ids = Array.from({ length: 100 }, (_, i) => `v${i}`);
  const batch = await measure(
    () => unary(client, "GetVariables", { session_id: SESSION, variable_identifiers: ids }),
    300,
    1,
  );
  const singles = await measure(
    async () => {
      for (const id of ids)
        await unary(client, "GetVariable", { session_id: SESSION, variable_identifier: id });
    },
    30,
    1,
  );
  results.push("100 variables");
  results.push(row("  one GetVariables of 100", batch));
  results.push(row("  100 sequential GetVariable", singles));
  results.push(`  batch is ${(singles.p50 / batch.p50).toFixed(1)}x faster (p50)`);

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
  const ratio = seq.get.p50 / seq.echo.p50;
  results.push(
    `target: GetVariable p50 within 1.2x of echo (sequential): ${ratio.toFixed(2)}x -> ${ratio <= 1.2 ? "met" : "NOT met"}`,
  );

  console.log(`dspex-bridge benchmark (node ${process.version}, ${new Date().toISOString()})`);
  for (const line of results) console.log(line);

  client.close();
  echoClient.close();
  await bridge.close();
  await new Promise<void>((resolve) => echoServer.tryShutdown(() => resolve()));
}

await main();
