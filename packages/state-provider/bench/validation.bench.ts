// Validation throughput per type (ns/op), each next to a bare `typeof` check measured in the
// same run, so the figures say what the type system costs on top of the cheapest possible test.
import { type Constraints, checkConstraints, checkValue, type VariableType } from "../src/index.js";

function nsPerOp(fn: (i: number) => unknown, iterations: number): number {
  let sink = 0;
  for (let i = 0; i < iterations / 10; i++) sink ^= fn(i) ? 1 : 0; // warm up the JIT
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) sink ^= fn(i) ? 1 : 0;
  const elapsed = Number(process.hrtime.bigint() - start);
  if (sink === 42) console.log(""); // keeps the loop from being optimised away
  return elapsed / iterations;
}

function constraints(type: VariableType, raw: unknown): Constraints {
  const checked = checkConstraints(type, raw);
  if (!checked.ok) throw new Error(checked.error.message);
  return checked.value;
}

const embedding = Array.from({ length: 768 }, (_, i) => i / 768);
const cases: Array<[string, VariableType, unknown, Constraints, number]> = [
  ["float {min,max}", "float", 0.7, constraints("float", { min: 0, max: 2 }), 2_000_000],
  ["integer {min,max}", "integer", 512, constraints("integer", { min: 1, max: 4096 }), 2_000_000],
  ["string (none)", "string", "Be brief.", {}, 2_000_000],
  [
    "string {maxLength,pattern}",
    "string",
    "gpt-4",
    constraints("string", { maxLength: 20, pattern: "^gpt-" }),
    1_000_000,
  ],
  ["boolean", "boolean", true, {}, 2_000_000],
  [
    "choice (3 choices)",
    "choice",
    "claude-3",
    constraints("choice", { choices: ["gpt-4", "claude-3", "llama"] }),
    2_000_000,
  ],
  [
    "module {allowedModules}",
    "module",
    "Predict",
    constraints("module", { allowedModules: ["Predict", "ChainOfThought"] }),
    2_000_000,
  ],
  [
    "embedding 768 {dimensions}",
    "embedding",
    embedding,
    constraints("embedding", { dimensions: 768 }),
    20_000,
  ],
  [
    "tensor 16x16",
    "tensor",
    { shape: [16, 16], data: Array.from({ length: 256 }, (_, i) => i) },
    {},
    50_000,
  ],
];

const baselineIterations = 2_000_000;
const values = [0.7, "x", true, 512];
const typeofNs = nsPerOp((i) => typeof values[i & 3] === "number", baselineIterations);

console.log("@dspex/state-provider: checkValue throughput (lower is better)");
console.log(`baseline: bare typeof check ${typeofNs.toFixed(1)} ns/op\n`);
console.log(`${"type".padEnd(30)} ${"ns/op".padStart(10)} ${"x typeof".padStart(10)}`);
for (const [label, type, value, c, iterations] of cases) {
  const ns = nsPerOp(() => checkValue("v", type, value, c).ok, iterations);
  console.log(
    `${label.padEnd(30)} ${ns.toFixed(1).padStart(10)} ${(ns / typeofNs).toFixed(1).padStart(10)}`,
  );
}
