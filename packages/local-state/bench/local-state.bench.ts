/*
 * LocalState against the plainest code doing the same work, measured in the same run:
 * an awaited Map (the floor for an async in-process store) and keyv's in-memory store.
 * Run with `pnpm bench`. Prints ns/op per operation, the ratio to the baseline and the targets.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { type ExportedState, unwrap, type VariableEvent } from "@dspex/state-provider";
import Keyv from "keyv";
import { type Goal, reportGoals } from "../../../scripts/bench-goals.mjs";
import { LocalState, type LocalStateHandle } from "../src/index.js";

type Op = (i: number) => unknown;

const ROUNDS = 5;
const ROUND_MS = 120;

async function timeLoop(op: Op, iterations: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await op(i);
  return Number(process.hrtime.bigint() - start) / iterations;
}

/** Calibrates an iteration count for ~ROUND_MS, then takes the median of ROUNDS rounds, alternating subjects. */
async function compare(ops: Record<string, Op>): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const [name, op] of Object.entries(ops)) {
    let n = 16;
    for (;;) {
      const ns = await timeLoop(op, n);
      if (ns * n > 20e6 || n >= 1 << 22) {
        counts[name] = Math.max(1, Math.round((ROUND_MS * 1e6) / ns));
        break;
      }
      n *= 4;
    }
  }
  const samples: Record<string, number[]> = Object.fromEntries(
    Object.keys(ops).map((k) => [k, []]),
  );
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, op] of Object.entries(ops))
      samples[name]!.push(await timeLoop(op, counts[name]!));
  }
  return Object.fromEntries(
    Object.entries(samples).map(([name, values]) => [
      name,
      values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!,
    ]),
  );
}

interface Row {
  readonly operation: string;
  readonly local: number;
  readonly baseline: number;
  readonly baselineName: string;
  readonly keyv?: number;
  readonly target?: string;
  readonly met?: boolean;
}

const rows: Row[] = [];
const format = (ns: number) =>
  ns >= 100_000
    ? `${(ns / 1e6).toFixed(2)} ms`
    : ns >= 10_000
      ? `${(ns / 1e3).toFixed(1)} µs`
      : `${ns.toFixed(0)} ns`;

async function session(variables = 0): Promise<LocalStateHandle> {
  const state = unwrap(await LocalState.init());
  for (let i = 0; i < variables; i++)
    unwrap(
      await LocalState.registerVariable(state, `v${i}`, "float", i, { constraints: { min: 0 } }),
    );
  return state;
}

async function main(): Promise<void> {
  const started = Date.now();

  // get / set against an awaited Map and keyv.
  const state = await session();
  unwrap(
    await LocalState.registerVariable(state, "temperature", "float", 0.7, {
      constraints: { min: 0, max: 2 },
    }),
  );
  const map = new Map<string, number>([["temperature", 0.7]]);
  const keyv = new Keyv<number>();
  await keyv.set("temperature", 0.7);
  const values = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];

  const get = await compare({
    local: () => LocalState.getVariable(state, "temperature"),
    map: async () => map.get("temperature"),
    keyv: () => keyv.get("temperature"),
  });
  rows.push({
    operation: "get",
    local: get.local!,
    baseline: get.map!,
    baselineName: "await Map.get",
    keyv: get.keyv!,
    target: "≤ 1.4× await Map.get; ≥ 5× faster than keyv",
    met: get.local! <= 1.4 * get.map! && get.keyv! >= 5 * get.local!,
  });

  const set = await compare({
    local: (i) => LocalState.setVariable(state, "temperature", values[i & 7]),
    map: async (i) => map.set("temperature", values[i & 7]!),
    keyv: (i) => keyv.set("temperature", values[i & 7]!),
  });
  rows.push({
    operation: "set (validated, min/max)",
    local: set.local!,
    baseline: set.map!,
    baselineName: "await Map.set",
    keyv: set.keyv!,
    target: "< 1 µs",
    met: set.local! < 1000,
  });

  // Batches of 100.
  const batchState = await session(100);
  const batchMap = new Map<string, number>(Array.from({ length: 100 }, (_, i) => [`v${i}`, i]));
  const names = Array.from({ length: 100 }, (_, i) => `v${i}`);
  const updates = Object.fromEntries(names.map((name, i) => [name, i + 0.5]));
  const getMany = await compare({
    local: () => LocalState.getVariables(batchState, names),
    map: async () => {
      const out: Record<string, number> = {};
      for (const name of names) {
        const value = batchMap.get(name);
        if (value !== undefined) out[name] = value;
      }
      return out;
    },
  });
  rows.push({
    operation: "getVariables(100)",
    local: getMany.local!,
    baseline: getMany.map!,
    baselineName: "100 Map.get into an object",
  });
  const updateMany = await compare({
    local: () => LocalState.updateVariables(batchState, updates),
    map: async () => {
      for (const name of names) batchMap.set(name, updates[name]!);
    },
  });
  rows.push({
    operation: "updateVariables(100), atomic",
    local: updateMany.local!,
    baseline: updateMany.map!,
    baselineName: "100 Map.set",
  });

  // Registration: a fresh name every time.
  const registerState = await session();
  const registerMap = new Map<string, number>();
  const register = await compare({
    local: (i) =>
      LocalState.registerVariable(registerState, `r${i}_${registerMap.size}`, "float", 0.5),
    map: async (i) => registerMap.set(`r${i}_${registerMap.size}`, 0.5),
  });
  await LocalState.cleanup(registerState);
  rows.push({
    operation: "registerVariable",
    local: register.local!,
    baseline: register.map!,
    baselineName: "Map.set of a new key",
  });

  // 1000 variables: list, export, import.
  const bigState = await session(1000);
  const bigMap = new Map<string, { value: number; version: number }>(
    Array.from({ length: 1000 }, (_, i) => [`v${i}`, { value: i, version: 1 }]),
  );
  const list = await compare({
    local: () => LocalState.listVariables(bigState),
    map: async () => Array.from(bigMap.values()),
  });
  rows.push({
    operation: "listVariables (1000), unchanged",
    local: list.local!,
    baseline: list.map!,
    baselineName: "Array.from(Map.values())",
  });
  const listAfterSet = await compare({
    local: async (i) => {
      await LocalState.setVariable(bigState, "v0", i & 1023);
      return LocalState.listVariables(bigState);
    },
    map: async (i) => {
      bigMap.set("v0", { value: i & 1023, version: i });
      return Array.from(bigMap.values());
    },
  });
  rows.push({
    operation: "set + listVariables (1000)",
    local: listAfterSet.local!,
    baseline: listAfterSet.map!,
    baselineName: "Map.set + Array.from",
  });
  const exported: ExportedState = unwrap(await LocalState.exportState(bigState));
  const exportCompare = await compare({
    local: () => LocalState.exportState(bigState),
    map: async () => Object.fromEntries(Array.from(bigMap, ([key, entry]) => [key, { ...entry }])),
  });
  rows.push({
    operation: "exportState (1000)",
    local: exportCompare.local!,
    baseline: exportCompare.map!,
    baselineName: "copy the Map to an object",
  });
  const plainExport = Object.fromEntries(bigMap);
  const importCompare = await compare({
    local: async () => {
      const fresh = unwrap(await LocalState.init());
      unwrap(await LocalState.importState(fresh, exported));
      await LocalState.cleanup(fresh);
    },
    map: async () =>
      new Map(Object.entries(plainExport).map(([key, entry]) => [key, { ...entry }])),
  });
  rows.push({
    operation: "importState (1000) of its own export",
    local: importCompare.local!,
    baseline: importCompare.map!,
    baselineName: "object to a new Map",
  });
  // The same document after JSON (another process's, say): validated in full.
  const crossed = JSON.parse(JSON.stringify(exported));
  const importCrossed = await compare({
    local: async () => {
      const fresh = unwrap(await LocalState.init());
      unwrap(await LocalState.importState(fresh, crossed));
      await LocalState.cleanup(fresh);
    },
    map: async () =>
      new Map(Object.entries(plainExport).map(([key, entry]) => [key, { ...entry }])),
  });
  rows.push({
    operation: "importState (1000) after JSON, validated",
    local: importCrossed.local!,
    baseline: importCrossed.map!,
    baselineName: "object to a new Map",
  });

  // A set seen by 100 subscribers.
  const fanState = await session();
  unwrap(await LocalState.registerVariable(fanState, "watched", "float", 0));
  let seen = 0;
  const count = (_event: VariableEvent) => {
    seen++;
  };
  for (let i = 0; i < 100; i++)
    unwrap(await LocalState.subscribe!(fanState, i % 2 === 0 ? "*" : "watch*", count));
  const fanMap = new Map<string, number>([["watched", 0]]);
  const listeners = Array.from({ length: 100 }, () => count);
  const fan = await compare({
    local: (i) => LocalState.setVariable(fanState, "watched", i),
    map: async (i) => {
      const previous = fanMap.get("watched");
      fanMap.set("watched", i);
      const event = {
        kind: "updated",
        name: "watched",
        value: i,
        previousValue: previous,
      } as unknown as VariableEvent;
      for (const listener of listeners) listener(event);
    },
  });
  rows.push({
    operation: "set → 100 subscribers",
    local: fan.local!,
    baseline: fan.map!,
    baselineName: "Map.set + 100 callbacks",
  });
  if (seen === 0) throw new Error("subscribers saw nothing");

  // A set that 1000 subscribers on other prefixes do not concern: its cost must not grow with them.
  const quietState = await session();
  unwrap(await LocalState.registerVariable(quietState, "watched", "float", 0));
  const globs = Array.from({ length: 1000 }, (_, i) => `p${i}_*`);
  for (const glob of globs) unwrap(await LocalState.subscribe!(quietState, glob, count));
  const quietMap = new Map<string, number>([["watched", 0]]);
  const regexps = globs.map((glob) => new RegExp(`^${glob.replace("*", ".*")}$`));
  let tested = 0;
  const quiet = await compare({
    local: (i) => LocalState.setVariable(quietState, "watched", i),
    map: async (i) => {
      quietMap.set("watched", i);
      for (const regexp of regexps) if (regexp.test("watched")) tested++;
    },
  });
  if (tested !== 0) throw new Error("a glob matched");
  rows.push({
    operation: "set, 1000 subscribers not matching",
    local: quiet.local!,
    baseline: quiet.map!,
    baselineName: "Map.set + 1000 RegExp tests",
    target: "≤ 0.1× (indexed)",
    met: quiet.local! <= 0.1 * quiet.map!,
  });
  await LocalState.cleanup(quietState);

  for (const s of [state, batchState, bigState, fanState]) await LocalState.cleanup(s);

  // Memory: 100k float variables.
  setFlagsFromString("--expose-gc");
  const gc = (globalThis as { gc?: () => void }).gc ?? (runInNewContext("gc") as () => void);
  const heap = () => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  const VARIABLES = 100_000;
  const heapBefore = heap();
  const memoryState = await session();
  for (let i = 0; i < VARIABLES; i++)
    unwrap(await LocalState.registerVariable(memoryState, `mem_${i}`, "float", i + 0.5));
  const localBytes = (heap() - heapBefore) / VARIABLES;
  await LocalState.cleanup(memoryState);
  const mapBefore = heap();
  const memoryMap = new Map<string, { value: number; version: number }>();
  for (let i = 0; i < VARIABLES; i++) memoryMap.set(`mem_${i}`, { value: i + 0.5, version: 1 });
  const mapBytes = (heap() - mapBefore) / VARIABLES;
  if (memoryMap.size !== VARIABLES) throw new Error("map lost entries");

  print(localBytes, mapBytes, Date.now() - started);
  const byName = (operation: string) => rows.find((row) => row.operation === operation)!;
  const ratioGoal = (row: Row, operation: string, goal: string): Goal => ({
    operation,
    measured: format(row.local),
    baseline: `${row.baselineName}: ${format(row.baseline)}`,
    ratio: `${(row.local / row.baseline).toFixed(2)}×`,
    goal,
    met: row.met === true,
  });
  reportGoals(new URL("..", import.meta.url).pathname, "local-state", [
    ratioGoal(byName("get"), "LocalState.getVariable", "≤ 1.4×"),
    ratioGoal(
      byName("set, 1000 subscribers not matching"),
      "setVariable, 1,000 subscribers on other prefixes",
      "≤ 0.1×",
    ),
    {
      operation: "heap per stored float variable (100k)",
      measured: `${localBytes.toFixed(0)} B`,
      baseline: `Map of {value, version}: ${mapBytes.toFixed(0)} B`,
      ratio: `${localBytes.toFixed(0)} B`,
      goal: "< 250 B",
      met: localBytes < 250,
    },
  ]);
}

function print(localBytes: number, mapBytes: number, elapsedMs: number): void {
  const header = ["operation", "LocalState", "baseline", "ratio", "keyv memory", "target", "met"];
  const table = rows.map((row) => [
    row.operation,
    format(row.local),
    `${format(row.baseline)} (${row.baselineName})`,
    `${(row.local / row.baseline).toFixed(2)}×`,
    row.keyv === undefined
      ? ""
      : `${format(row.keyv)} (${(row.keyv / row.local).toFixed(1)}× slower)`,
    row.target ?? "",
    row.met === undefined ? "" : row.met ? "yes" : "NO",
  ]);
  table.push([
    "heap per float variable (100k)",
    `${localBytes.toFixed(0)} B`,
    `${mapBytes.toFixed(0)} B (Map of {value, version})`,
    `${(localBytes / mapBytes).toFixed(2)}×`,
    "",
    "",
    "",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  console.log(
    `\nLocalState benchmark (node ${process.version}, median of ${ROUNDS} rounds, ns/op)\n`,
  );
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const row of table) console.log(line(row));
  const missed = rows.filter((r) => r.met === false).map((r) => r.operation);
  console.log(
    `\nTargets: ${missed.length === 0 ? "all met" : `missed: ${missed.join(", ")}`}. Took ${(elapsedMs / 1000).toFixed(1)} s.`,
  );
}

await main();
