#!/usr/bin/env node
// Prints the goals every benchmark of `pnpm bench` wrote (packages/*/bench-results/*.json) as
// one table, so a reader sees every goal of the run, met or not, in one place.
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const packages = readdirSync(join(root, "packages")).map((name) => join(root, "packages", name));

if (process.argv[2] === "--clear") {
  for (const dir of packages) rmSync(join(dir, "bench-results"), { recursive: true, force: true });
  process.exit(0);
}

const rows = [];
for (const dir of packages) {
  const results = join(dir, "bench-results");
  if (!existsSync(results)) continue;
  for (const file of readdirSync(results).sort()) {
    if (file.endsWith(".json")) rows.push(...JSON.parse(readFileSync(join(results, file), "utf8")));
  }
}
if (rows.length === 0) {
  console.log("bench summary: no goals reported");
  process.exit(1);
}
const header = ["operation", "measured", "baseline in the same run", "ratio", "goal", "met"];
const cells = rows.map((g) => [
  g.operation,
  g.measured,
  g.baseline,
  g.ratio,
  g.goal,
  g.met === null ? "reported" : g.met ? "met" : "NOT met",
]);
const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i].length)));
const line = (row) => `| ${row.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
console.log("\nPerformance goals (every benchmark of this run)\n");
console.log(line(header));
console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
for (const row of cells) console.log(line(row));
// A row whose `met` is null reports a figure; it is no goal.
const goals = rows.filter((g) => g.met !== null);
const missed = goals.filter((g) => !g.met).length;
console.log(
  missed === 0
    ? `\nAll ${goals.length} goals met.`
    : `\n${missed} of ${goals.length} goals NOT met.`,
);
