import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { DISTRIBUTED_STORY_LINES, STORY_LINES } from "./story-lines.js";

/* The README is the reference for users: its sample output and the names it walks through must
 * be what the code prints and defines. */

const APP = join(dirname(fileURLToPath(import.meta.url)), "..");
const README = readFileSync(join(APP, "README.md"), "utf8");

function section(title: string): string {
  const start = README.indexOf(`## ${title}`);
  expect(start, `README section "${title}"`).toBeGreaterThanOrEqual(0);
  const end = README.indexOf("\n## ", start + 1);
  return README.slice(start, end === -1 ? undefined : end);
}

describe("apps/example/README.md", () => {
  it("shows sample output with every line a run prints", () => {
    const sample = /```\n([\s\S]*?)```/.exec(section("What it prints"))?.[1] ?? "";
    expect(sample).not.toBe("");
    for (const line of STORY_LINES) expect(sample, String(line)).toMatch(line);
  });

  it("shows the distributed demo's sample output with every line a run prints", () => {
    const sample =
      /```\n(DSPex example, distributed[\s\S]*?)```/.exec(
        section("Distributed: two bridges on one Redis, two kills"),
      )?.[1] ?? "";
    expect(sample).not.toBe("");
    for (const line of DISTRIBUTED_STORY_LINES) expect(sample, String(line)).toMatch(line);
  });

  it("names distributed files that exist", () => {
    const distributed = section("Distributed: two bridges on one Redis, two kills");
    const files = [...distributed.matchAll(/`((?:src|worker)\/[\w./-]+)`/g)].map((m) => m[1]!);
    expect(files.length).toBeGreaterThan(4);
    for (const file of files) expect(existsSync(join(APP, file)), file).toBe(true);
  });

  it("walks through files and functions that exist", () => {
    const walkthrough = section("Walkthrough");
    const files = [...walkthrough.matchAll(/`((?:src|worker)\/[\w./-]+)`/g)].map((m) => m[1]!);
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) expect(existsSync(join(APP, file)), file).toBe(true);

    const sources = [
      "src/main.ts",
      "src/program.ts",
      "src/worker-process.ts",
      "src/changes.ts",
      "src/latency.ts",
      "src/report.ts",
      "src/shutdown.ts",
      "worker/optimizer.py",
    ]
      .map((file) => readFileSync(join(APP, file), "utf8"))
      .join("\n");
    // Names in headings, e.g. "### 1. A Context on local state (`openContext`, `registerTuningVariables`)".
    const named = [...walkthrough.matchAll(/^###.*$/gm)].flatMap((heading) =>
      [...heading[0].matchAll(/`([\w.]+)`/g)].map((m) => m[1]!),
    );
    expect(named.length).toBeGreaterThan(3);
    for (const name of named) {
      const last = name.split(".").at(-1)!;
      expect(sources, `README names ${name}`).toMatch(new RegExp(`\\b${last}\\b`));
    }
  });
});
