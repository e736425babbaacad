/*
 * RedisState against raw node-redis calls on the same server, measured in the same run: a get
 * against one HGET round trip, a set against an EVALSHA of a one-line script, a batch of 100
 * against one set, and watch latency (write call to a subscriber in another process) against
 * a raw SPUBLISH heard by a raw subscriber in that process. Run with `pnpm bench`.
 */
import { fork } from "node:child_process";
import { performance } from "node:perf_hooks";
import { startRedisServer } from "@dspex/test-support";
import { createClient } from "@redis/client";
import { RedisState } from "../src/index.js";

const now = () => performance.timeOrigin + performance.now();
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

async function perOp(op: (i: number) => Promise<unknown>, iterations: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = now();
    await op(i);
    samples.push((now() - start) * 1000);
  }
  return samples;
}

/** Median µs of each, alternating rounds so both see the same machine. */
async function compare(
  a: (i: number) => Promise<unknown>,
  b: (i: number) => Promise<unknown>,
  iterations: number,
) {
  const sa: number[] = [];
  const sb: number[] = [];
  await perOp(a, 200);
  await perOp(b, 200);
  for (let round = 0; round < 5; round++) {
    sa.push(...(await perOp(a, iterations / 5)));
    sb.push(...(await perOp(b, iterations / 5)));
  }
  return [median(sa), median(sb)] as const;
}

function must<T>(result: { ok: true; value: T } | { ok: false; error: { message: string } }): T {
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

const server = await startRedisServer();
const url = server.url;
const provider = new RedisState({ url });
const raw = createClient({ url });
await raw.connect();
const rows: {
  operation: string;
  state: number;
  baseline: number;
  baselineName: string;
  goal: string;
  met: boolean;
  unit: string;
}[] = [];
try {
  const state = must(await provider.init({ sessionId: `bench_${Date.now()}` }));
  must(await provider.registerVariable(state, "temperature", "float", 0.5));
  const names = Array.from({ length: 100 }, (_, i) => `v${i}`);
  for (const name of names) must(await provider.registerVariable(state, name, "integer", 0));
  await raw.sendCommand(["HSET", "bench:h", "f", "0.5"]);
  const oneLine = "#!lua\nreturn redis.call('HSET', KEYS[1], 'f', ARGV[1])";
  const sha = String(await raw.sendCommand(["SCRIPT", "LOAD", oneLine]));

  const [get, hget] = await compare(
    () => provider.getVariable(state, "temperature"),
    () => raw.sendCommand(["HGET", "bench:h", "f"]),
    2000,
  );
  rows.push({
    operation: "get",
    state: get,
    baseline: hget,
    baselineName: "HGET",
    goal: "≤ 1.3×",
    met: get <= 1.3 * hget,
    unit: "µs",
  });

  const [set, evalsha] = await compare(
    (i) => provider.setVariable(state, "temperature", i / 1000),
    (i) => raw.sendCommand(["EVALSHA", sha, "1", "bench:h", String(i / 1000)]),
    2000,
  );
  rows.push({
    operation: "set",
    state: set,
    baseline: evalsha,
    baselineName: "EVALSHA one-line",
    goal: "≤ 1.5×",
    met: set <= 1.5 * evalsha,
    unit: "µs",
  });

  const batch = (i: number) => Object.fromEntries(names.map((name) => [name, i]));
  const [batch100, oneSet] = await compare(
    (i) => provider.updateVariables(state, batch(i)),
    (i) => provider.setVariable(state, "temperature", i / 1000),
    500,
  );
  rows.push({
    operation: "batch of 100",
    state: batch100,
    baseline: oneSet,
    baselineName: "one set",
    goal: "≤ 2×",
    met: batch100 <= 2 * oneSet,
    unit: "µs",
  });

  // Watch latency: another process subscribes; each write waits for its event before the next.
  const channel = `bench:{raw}:bell`;
  const child = fork(new URL("./watcher.mjs", import.meta.url), [url, state.sessionId, channel], {
    stdio: "inherit",
  });
  const waiting = new Map<string, (t: number) => void>();
  child.on("message", (message: { kind: string; i?: number; t?: number }) => {
    waiting.get(`${message.kind}:${message.i ?? ""}`)?.(message.t as number);
  });
  const heard = (key: string) => new Promise<number>((resolve) => waiting.set(key, resolve));
  await heard("ready:");
  const latency = async (kind: "state" | "raw", i: number) => {
    const receipt = heard(`${kind}:${i}`);
    const start = now();
    if (kind === "state") must(await provider.setVariable(state, "temperature", i));
    else await raw.sendCommand(["SPUBLISH", channel, String(i)]);
    return ((await receipt) - start) * 1000;
  };
  const watchState: number[] = [];
  const watchRaw: number[] = [];
  for (let i = 1; i <= 600; i++) {
    const value = 10_000 + i;
    const sample = await latency(i % 2 === 0 ? "state" : "raw", value);
    if (i > 100) (i % 2 === 0 ? watchState : watchRaw).push(sample);
  }
  child.send("stop");
  await new Promise((resolve) => child.once("exit", resolve));
  const p50 = median(watchState);
  rows.push({
    operation: "watch p50, other process",
    state: p50,
    baseline: median(watchRaw),
    baselineName: "SPUBLISH → raw subscriber",
    goal: "p50 < 1000 µs",
    met: p50 < 1000,
    unit: "µs",
  });
  await provider.cleanup(state);
} finally {
  await raw.close();
  await server.stop();
}

const format = (n: number) => n.toFixed(1).padStart(8);
console.log(`RedisState vs raw node-redis on the same redis-server (unix socket), medians in µs\n`);
console.log(
  `${"operation".padEnd(26)}${"RedisState".padStart(12)}${"raw".padStart(10)}  ${"baseline".padEnd(28)}${"ratio".padStart(7)}  goal`,
);
for (const row of rows) {
  console.log(
    `${row.operation.padEnd(26)}${format(row.state).padStart(12)}${format(row.baseline).padStart(10)}  ${row.baselineName.padEnd(28)}${(row.state / row.baseline).toFixed(2).padStart(6)}×  ${row.goal} ${row.met ? "met" : "MISSED"}`,
  );
}
