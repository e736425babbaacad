import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { type ChildProcessProvider, childProcessProvider } from "../src/child-process.js";
import { CONFORMANCE_TESTS } from "../src/index.js";
import { MODEL_TEST_NAME } from "../src/suite.js";
import { fileBackend } from "./fixtures/file-backend.js";
import type { Defect } from "./reference-backend.js";
import { runSuite } from "./run-suite.js";

const dirs: string[] = [];
const children: ChildProcessProvider[] = [];
afterAll(async () => {
  for (const child of children) await child.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function inChild(dir: string, defect?: Defect) {
  return async () => {
    const child = await childProcessProvider({
      module: new URL("./fixtures/file-backend.ts", import.meta.url),
      execArgv: ["--import", "tsx"],
      env: { DSPEX_REFERENCE_DIR: dir, DSPEX_REFERENCE_DEFECT: defect ?? "" },
      onSubscriberError: () => {},
    });
    children.push(child);
    return child;
  };
}

const persistence = CONFORMANCE_TESTS.filter((t) => t.requires === "persistence").map(
  (t) => t.name,
);
const allBut = (keep: readonly string[]) =>
  CONFORMANCE_TESTS.map((t) => t.name).filter((n) => !keep.includes(n));

test("a restart in a real new process reads back what the first process persisted", async () => {
  const dir = mkdtempSync(join(tmpdir(), "dspex-restart-"));
  dirs.push(dir);
  const restart = inChild(dir);
  const outcome = await runSuite(fileBackend(dir), {
    restart,
    disable: allBut(persistence),
    timeoutMs: 5000,
  });
  expect(Object.fromEntries(outcome.failed)).toEqual({});
  expect(outcome.passed).toEqual(persistence);
  expect(children.at(-1)?.pid).not.toBe(process.pid);
}, 60_000);

test("a backend that keeps sessions in its process's memory fails the restart in a new process", async () => {
  const dir = mkdtempSync(join(tmpdir(), "dspex-restart-"));
  dirs.push(dir);
  const outcome = await runSuite(fileBackend(dir, "persistence-in-process-only"), {
    restart: inChild(dir, "persistence-in-process-only"),
    disable: allBut(persistence),
    timeoutMs: 5000,
  });
  expect([...outcome.failed.keys()]).toEqual(persistence);
}, 60_000);

test("the whole suite passes through the child-process proxy", async () => {
  const dir = mkdtempSync(join(tmpdir(), "dspex-child-"));
  dirs.push(dir);
  const provider = await inChild(dir)();
  const outcome = await runSuite(provider, {
    restart: inChild(dir),
    secondInstance: () => provider,
    modelRuns: 20,
    timeoutMs: 5000,
  });
  expect(Object.fromEntries(outcome.failed)).toEqual({});
  expect(outcome.passed).toContain(MODEL_TEST_NAME);
}, 120_000);
