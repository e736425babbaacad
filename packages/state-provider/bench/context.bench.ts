/**
 * Context switch time for 10, 1000 and 10 000 variables, next to the baseline of a plain
 * init + export + import of the same data between the same two backends, measured in the
 * same run. Target: 1000 variables switch in under 20 ms.
 *
 * Run: npx tsx bench/context.bench.ts
 */
import { Context, type StateProvider, unwrap } from "../src/index.js";
import { type MemorySession, memoryPair } from "../test/support/memory-provider.js";

const SIZES = [10, 1000, 10_000] as const;
const RUNS: Record<(typeof SIZES)[number], number> = { 10: 200, 1000: 40, 10000: 8 };
const TARGET_MS = { variables: 1000, ms: 20 };

/** A realistic mix: numbers with constraints, strings, choices, embeddings; a few written twice. */
async function fill(register: (i: number) => Promise<unknown>, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await register(i);
}

function variable(
  i: number,
): [string, "float" | "integer" | "string" | "choice" | "embedding", unknown, object] {
  switch (i % 5) {
    case 0:
      return [`temperature_${i}`, "float", 0.5, { constraints: { min: 0, max: 2 } }];
    case 1:
      return [`max_tokens_${i}`, "integer", 256, { constraints: { min: 1, max: 4096 } }];
    case 2:
      return [`prompt_${i}`, "string", "Answer briefly.", { metadata: { owner: "bench" } }];
    case 3:
      return [`model_${i}`, "choice", "small", { constraints: { choices: ["small", "large"] } }];
    default:
      return [`vector_${i}`, "embedding", [0.1, 0.2, 0.3, 0.4], { constraints: { dimensions: 4 } }];
  }
}

async function timeSwitch(
  count: number,
): Promise<{ toSwap: number; total: number; names: string }> {
  const { local, bridged } = memoryPair();
  const context = unwrap(await Context.create({ local, bridged }));
  await fill(async (i) => {
    const [name, type, value, options] = variable(i);
    unwrap(await context.register(name, type, value, options));
  }, count);
  const started = performance.now();
  const record = unwrap(await context.ensureBridged());
  const total = performance.now() - started;
  await context.close();
  if (record === undefined || record.variables !== count)
    throw new Error("the switch did not move every variable");
  return {
    toSwap: record.durationMs,
    total,
    names: `${record.fromBackend} -> ${record.toBackend}`,
  };
}

async function timeBaseline(count: number): Promise<number> {
  const { local, bridged } = memoryPair();
  const from: StateProvider<MemorySession> = local;
  const state = unwrap(await from.init({ sessionId: "baseline" }));
  await fill(async (i) => {
    const [name, type, value, options] = variable(i);
    unwrap(await from.registerVariable(state, name, type, value, options));
  }, count);
  const started = performance.now();
  const target = unwrap(await bridged.init({ sessionId: "baseline" }));
  const document = unwrap(await from.exportState(state));
  unwrap(await bridged.importState(target, document));
  const elapsed = performance.now() - started;
  await from.cleanup(state);
  await bridged.cleanup(target);
  return elapsed;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** ns per call of `call`, the median of a few rounds of `ops` sequential awaited calls. */
async function nsPerCall(ops: number, call: (i: number) => Promise<unknown>): Promise<number> {
  const rounds: number[] = [];
  for (let round = 0; round < 5; round++) {
    const started = performance.now();
    for (let i = 0; i < ops; i++) await call(i);
    rounds.push(((performance.now() - started) * 1e6) / ops);
  }
  return median(rounds);
}

/** What the Context adds to each call (write queue, in-flight tracking) over the provider itself. */
async function callOverhead(): Promise<string[]> {
  const ops = 50_000;
  const { local } = memoryPair();
  const state = unwrap(await local.init({ sessionId: "direct" }));
  unwrap(await local.registerVariable(state, "x", "integer", 0));
  const context = unwrap(await Context.create({ local: memoryPair().local, sessionId: "context" }));
  unwrap(await context.register("x", "integer", 0));
  const rows = [
    [
      "get",
      await nsPerCall(ops, () => local.getVariable(state, "x")),
      await nsPerCall(ops, () => context.get("x")),
    ],
    [
      "set",
      await nsPerCall(ops, (i) => local.setVariable(state, "x", i)),
      await nsPerCall(ops, (i) => context.set("x", i)),
    ],
  ] as const;
  await context.close();
  await local.cleanup(state);
  return rows.map(
    ([op, direct, through]) =>
      `${op.padEnd(4)} ${`${direct.toFixed(0)} ns`.padStart(10)} ${`${through.toFixed(0)} ns`.padStart(10)} ${`+${(through - direct).toFixed(0)} ns`.padStart(10)}`,
  );
}

const ms = (value: number) => `${value.toFixed(3)} ms`.padStart(12);

async function main(): Promise<void> {
  // Warm up the JIT on both paths so the first size is not charged for compilation.
  for (let i = 0; i < 5; i++) {
    await timeSwitch(500);
    await timeBaseline(500);
  }
  let backends = "";
  const rows: string[] = [];
  let targetMedian = Number.NaN;
  for (const count of SIZES) {
    const toSwap: number[] = [];
    const total: number[] = [];
    const baseline: number[] = [];
    for (let run = 0; run < RUNS[count]; run++) {
      const switched = await timeSwitch(count);
      backends = switched.names;
      toSwap.push(switched.toSwap);
      total.push(switched.total);
      baseline.push(await timeBaseline(count));
    }
    const swapMedian = median(toSwap);
    if (count === TARGET_MS.variables) targetMedian = swapMedian;
    rows.push(
      `${String(count).padStart(9)} ${String(RUNS[count]).padStart(5)} ${ms(swapMedian)} ${ms(median(total))} ${ms(median(baseline))} ${`${(swapMedian / median(baseline)).toFixed(2)}x`.padStart(9)}`,
    );
  }
  console.log(
    `Context switch, ${backends} (in-memory reference providers from test/support), medians`,
  );
  console.log("variables  runs  switch→swap  ensureBridged  export+import  vs baseline");
  for (const row of rows) console.log(row);
  console.log(
    "switch→swap: init, export, import, verify, move watches, swap (SwitchRecord.durationMs)\n" +
      "ensureBridged: the whole call, including cleaning up the old backend\n" +
      "export+import: baseline, init + exportState + importState directly between the same providers",
  );
  console.log(
    "\nPer call, MemoryLocal: the provider directly vs through a Context (awaited, one at a time)",
  );
  console.log("op       direct    Context   overhead");
  for (const row of await callOverhead()) console.log(row);
  const verdict = targetMedian < TARGET_MS.ms ? "met" : "MISSED";
  console.log(
    `target: ${TARGET_MS.variables} variables in under ${TARGET_MS.ms} ms: ${verdict} (${targetMedian.toFixed(3)} ms)`,
  );
}

await main();
