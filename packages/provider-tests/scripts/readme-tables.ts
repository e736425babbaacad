// Rewrites the README's two generated tables (the tests in order, the defect table) from the
// code, so they never drift: `npx tsx scripts/readme-tables.ts`. test/readme.test.ts checks them.
import { readFileSync, writeFileSync } from "node:fs";
import { CONFORMANCE_TESTS } from "../src/index.js";
import { DEFECT_TABLE } from "../test/defect-table.js";

const path = new URL("../README.md", import.meta.url);
const cell = (text: string) => text.replaceAll("|", "\\|");
const lines = readFileSync(path, "utf8").split("\n");

/** Replaces the table body that starts with the line starting `first`, its rows matching `row`. */
function replaceRows(first: string, row: RegExp, rows: string[]): void {
  const start = lines.findIndex((line) => line.startsWith(first));
  if (start < 0) throw new Error(`no table row starting ${first}`);
  let end = start;
  while (end < lines.length && row.test(lines[end]!)) end++;
  lines.splice(start, end - start, ...rows);
}

replaceRows(
  "| 1 | ",
  /^\| \d+ \| /,
  CONFORMANCE_TESTS.map(
    (t, i) =>
      `| ${i + 1} | ${cell(t.name)} | ${t.requires ?? (t.unless ? `without ${t.unless}` : "—")} |`,
  ),
);
replaceRows(
  `| \`${Object.keys(DEFECT_TABLE)[0]}\` | `,
  /^\| `[a-z0-9-]+` \| /,
  Object.entries(DEFECT_TABLE).map(
    ([defect, { what, caughtBy }]) =>
      `| \`${defect}\` | ${cell(what)} | ${caughtBy.map(cell).join("<br>")} |`,
  ),
);
writeFileSync(path, lines.join("\n"));
