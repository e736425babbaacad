/**
 * Context switch time with the real backends, LocalState -> BridgedState (serving gRPC on
 * 127.0.0.1), for 10, 1000 and 10 000 variables, next to the baseline of a plain
 * init + export + import of the same data between the same backends, in the same run, and of
 * the floor the performance goal names: a JSON round trip of the export
 * (`JSON.parse(JSON.stringify(export))`).
 * The bridge server is started once, before timing; its start-up is printed on its own.
 *
 * Run: npx tsx bench/context-switch.bench.ts
 */
import { randomUUID } from "node:crypto";
import { BridgedState } from "@dspex/bridged-state";
import { LocalState } from "@dspex/local-state";
import { Context, unwrap, type VariableType } from "@dspex/state-provider";
import { type Goal, reportGoals } from "../../../scripts/bench-goals.mjs";

const SIZES = [10, 1000, 10_000] as const;
const RUNS: Record<(typeof SIZES)[number], number> = { 10: 100, 1000: 20, 10000: 7 };

function variable(i: number): [string, VariableType, unknown, object] {
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

async function timeSwitch(bridged: BridgedState, count: number): Promise<number> {
  const context = unwrap(
    await Context.create({ local: LocalState, bridged, sessionId: randomUUID() }),
  );
  for (let i = 0; i < count; i++) {
    const [name, type, value, options] = variable(i);
    unwrap(await context.register(name, type, value, options));
  }
  const record = unwrap(await context.ensureBridged());
  await context.close();
  if (record?.variables !== count) throw new Error("the switch did not move every variable");
  return record.durationMs;
}

async function timeBaseline(bridged: BridgedState, count: number): Promise<number> {
  const sessionId = randomUUID();
  const state = unwrap(await LocalState.init({ sessionId }));
  for (let i = 0; i < count; i++) {
    const [name, type, value, options] = variable(i);
    unwrap(await LocalState.registerVariable(state, name, type, value, options));
  }
  const started = performance.now();
  const target = unwrap(await bridged.init({ sessionId }));
  const document = unwrap(await LocalState.exportState(state));
  unwrap(await bridged.importState(target, document));
  const elapsed = performance.now() - started;
  await LocalState.cleanup(state);
  await bridged.cleanup(target);
  return elapsed;
}

/** The JSON round trip of the same session's export (the switch's floor). */
async function timeJsonRoundTrip(count: number): Promise<number> {
  const state = unwrap(await LocalState.init({ sessionId: randomUUID() }));
  for (let i = 0; i < count; i++) {
    const [name, type, value, options] = variable(i);
    unwrap(await LocalState.registerVariable(state, name, type, value, options));
  }
  const document = unwrap(await LocalState.exportState(state));
  const started = performance.now();
  const copy = JSON.parse(JSON.stringify(document));
  const elapsed = performance.now() - started;
  await LocalState.cleanup(state);
  if (Object.keys(copy.variables).length !== count)
    throw new Error("the round trip lost variables");
  return elapsed;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const ms = (value: number) => `${value.toFixed(3)} ms`.padStart(12);

async function main(): Promise<void> {
  const serving = performance.now();
  const bridged = await BridgedState.serve({ host: "127.0.0.1", port: 0 });
  const serveMs = performance.now() - serving;
  try {
    for (let i = 0; i < 5; i++) {
      await timeSwitch(bridged, 500);
      await timeBaseline(bridged, 500);
    }
    console.log(`Context switch, LocalState -> BridgedState (serving ${bridged.address}), medians`);
    console.log(
      "variables  runs  switch→swap  export+import  vs baseline   JSON round trip  switch vs JSON",
    );
    const goals: Goal[] = [];
    for (const count of SIZES) {
      const switched: number[] = [];
      const baseline: number[] = [];
      const json: number[] = [];
      for (let run = 0; run < RUNS[count]; run++) {
        switched.push(await timeSwitch(bridged, count));
        baseline.push(await timeBaseline(bridged, count));
        json.push(await timeJsonRoundTrip(count));
      }
      const ratio = `${(median(switched) / median(baseline)).toFixed(2)}x`.padStart(9);
      const jsonRatio = median(switched) / median(json);
      console.log(
        `${String(count).padStart(9)} ${String(RUNS[count]).padStart(5)} ${ms(median(switched))} ${ms(median(baseline))} ${ratio}   ${ms(median(json))}  ${`${jsonRatio.toFixed(2)}x`.padStart(14)}`,
      );
      if (count === 10_000) {
        goals.push({
          operation: "context switch LocalState → BridgedState, 10,000 variables",
          measured: ms(median(switched)).trim(),
          baseline: `JSON.parse(JSON.stringify(export)): ${ms(median(json)).trim()}`,
          ratio: `${jsonRatio.toFixed(2)}×`,
          goal: "≤ 1.5×",
          met: jsonRatio <= 1.5,
        });
      }
    }
    reportGoals(new URL("..", import.meta.url).pathname, "context-switch", goals);
    console.log(`bridge server start (once, not included above): ${serveMs.toFixed(1)} ms`);
  } finally {
    await bridged.close();
  }
}

await main();
