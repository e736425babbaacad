#!/usr/bin/env node
// Adds up what every package's test run reported (vitest JSON, pytest JUnit XML) and prints
// one closing line, so a reader of the test command sees the whole count at once.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const rows = [];
for (const group of ["packages", "apps"]) {
  for (const name of readdirSync(join(root, group))) {
    const results = join(root, group, name, "test-results");
    if (!existsSync(results)) continue;
    for (const file of readdirSync(results)) {
      const path = join(results, file);
      // Other files there (timings, screenshots) are a test's own output, not a report.
      if (file.startsWith("vitest") && file.endsWith(".json")) {
        const report = JSON.parse(readFileSync(path, "utf8"));
        rows.push({
          where: `${group}/${name} (vitest)`,
          passed: report.numPassedTests ?? 0,
          failed: report.numFailedTests ?? 0,
          skipped: (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0),
        });
      } else if (file.endsWith(".xml")) {
        const xml = readFileSync(path, "utf8");
        const suite = xml.match(/<testsuite\b[^>]*>/)?.[0] ?? "";
        const attr = (key) => Number(suite.match(new RegExp(`\\b${key}="(\\d+)"`))?.[1] ?? 0);
        const failed = attr("failures") + attr("errors");
        const skipped = attr("skipped");
        rows.push({
          where: `${group}/${name} (pytest)`,
          passed: attr("tests") - failed - skipped,
          failed,
          skipped,
        });
      }
    }
  }
}
if (rows.length === 0) {
  console.log("test summary: no test reports found");
  process.exit(0);
}
console.log("\ntest summary");
for (const r of rows)
  console.log(
    `  ${r.where.padEnd(44)} ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped`,
  );
const total = (key) => rows.reduce((sum, r) => sum + r[key], 0);
console.log(
  `total: ${total("passed")} passed, ${total("failed")} failed, ${total("skipped")} skipped`,
);
