// The performance goals every benchmark checks, written where `pnpm bench` collects them, so one
// table at the end shows each goal with met or not (bench-summary.mjs prints it).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Writes `goals` to `<packageDir>/bench-results/<file>.json` and prints them.
 * A goal: { operation, measured, baseline, ratio (a string, e.g. "1.07×"), goal, met }.
 */
export function reportGoals(packageDir, file, goals) {
  const dir = join(packageDir, "bench-results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${file}.json`), `${JSON.stringify(goals, null, 2)}\n`);
  for (const g of goals)
    console.log(
      `goal: ${g.operation}: ${g.ratio} (goal ${g.goal}) -> ${g.met === null ? "reported" : g.met ? "met" : "NOT met"}`,
    );
}
