import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect, test } from "vitest";
import { CONFORMANCE_TESTS } from "../src/index.js";

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL("..", import.meta.url));

test("the core entry runs under node:test, with unclaimed capabilities reported as skipped", async () => {
  const { stdout } = await run(
    process.execPath,
    ["--import", "tsx", "--test", "--test-reporter=tap", "test/fixtures/node-test-suite.ts"],
    { cwd: packageDir, timeout: 60_000 },
  );
  const count = (label: string) => Number(new RegExp(`^# ${label} (\\d+)$`, "m").exec(stdout)?.[1]);
  const gated = CONFORMANCE_TESTS.filter(
    (t) => t.requires === "persistence" || t.requires === "distribution" || t.unless !== undefined,
  ).length;
  expect(count("fail")).toBe(0);
  expect(count("skipped")).toBe(gated);
  expect(count("pass")).toBe(CONFORMANCE_TESTS.length - gated);
  expect(stdout).toMatch(/# SKIP Reference does not claim capability persistence/);
}, 90_000);
