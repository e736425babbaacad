import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");

function filesUnder(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(relative(dir, path), readFileSync(path, "utf8"));
  }
  return files;
}

describe("generated TypeScript types", () => {
  const fresh = mkdtempSync(join(tmpdir(), "dspex-generated-"));
  afterAll(() => rmSync(fresh, { recursive: true, force: true }));

  it("match what the .proto generates today (run `pnpm generate` after changing it)", () => {
    execFileSync(process.execPath, [join(root, "scripts/generate.mjs"), fresh]);
    const committed = filesUnder(join(root, "src/wire/generated"));
    const regenerated = filesUnder(fresh);
    expect([...committed.keys()].sort()).toEqual([...regenerated.keys()].sort());
    for (const [path, text] of regenerated) expect(committed.get(path), path).toBe(text);
  });
});
