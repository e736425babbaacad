import { readFileSync } from "node:fs";
import { expect, test } from "vitest";
import { CONFORMANCE_TESTS } from "../src/index.js";
import { DEFECT_TABLE } from "./defect-table.js";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const cell = (text: string) => text.replaceAll("|", "\\|");

test("the README lists every test with its capability, in order", () => {
  CONFORMANCE_TESTS.forEach((t, i) => {
    expect(readme).toContain(
      `| ${i + 1} | ${cell(t.name)} | ${t.requires ?? (t.unless ? `without ${t.unless}` : "—")} |`,
    );
  });
});

test("the README's defect table is the checked one", () => {
  for (const [defect, { what, caughtBy }] of Object.entries(DEFECT_TABLE)) {
    expect(readme).toContain(
      `| \`${defect}\` | ${cell(what)} | ${caughtBy.map(cell).join("<br>")} |`,
    );
  }
});
