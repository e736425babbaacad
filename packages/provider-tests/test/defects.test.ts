import assert from "node:assert/strict";
import { afterAll, describe, expect, test } from "vitest";
import { CONFORMANCE_TESTS } from "../src/index.js";
import { MODEL_TEST_NAME } from "../src/suite.js";
import { DEFECT_TABLE } from "./defect-table.js";
import {
  DEFECTS,
  type Defect,
  type ReferenceBackend,
  referenceBackend,
  sharedReference,
} from "./reference-backend.js";
import { runSuite } from "./run-suite.js";

const allNames = CONFORMANCE_TESTS.map((t) => t.name);
const SHARED_DEFECTS = new Set<Defect>([
  "persistence-in-process-only",
  "distribution-events-stay-local",
]);
const backends: ReferenceBackend[] = [];
afterAll(() => {
  for (const backend of backends) backend.dispose();
});

describe("the suite against a correct reference backend", () => {
  test("every test passes (the control for the defect runs)", async () => {
    const backend = referenceBackend();
    backends.push(backend);
    const outcome = await runSuite(backend);
    expect(Object.fromEntries(outcome.failed)).toEqual({});
    // persistence and distribution are not claimed here, the other flags are; every other test ran.
    expect(outcome.skipped.sort()).toEqual(
      CONFORMANCE_TESTS.filter(
        (t) =>
          t.requires === "persistence" || t.requires === "distribution" || t.unless !== undefined,
      )
        .map((t) => t.name)
        .sort(),
    );
  });

  test("with persistence and distribution claimed, those tests run and pass too", async () => {
    const shared = sharedReference();
    backends.push({ ...shared.backend, dispose: shared.dispose });
    const outcome = await runSuite(shared.backend, shared.hooks);
    expect(Object.fromEntries(outcome.failed)).toEqual({});
    const unclaimed = CONFORMANCE_TESTS.filter((t) => t.unless !== undefined).map((t) => t.name);
    expect(outcome.skipped).toEqual(unclaimed);
    expect(outcome.passed).toEqual(allNames.filter((n) => !unclaimed.includes(n)));
  });

  test("a correct backend without atomicUpdates passes the non-atomic form of every batch test", async () => {
    const backend = referenceBackend({ atomicUpdates: false });
    backends.push(backend);
    const outcome = await runSuite(backend);
    expect(Object.fromEntries(outcome.failed)).toEqual({});
    expect(outcome.skipped).toContain(
      "[atomicUpdates] a failing batch applies nothing: values, versions and metadata unchanged",
    );
  });

  test("a correct backend without compareAndSet and streaming passes, checked for its unsupported answers", async () => {
    const backend = referenceBackend({ compareAndSet: false, streaming: false });
    backends.push(backend);
    const outcome = await runSuite(backend);
    expect(Object.fromEntries(outcome.failed)).toEqual({});
    for (const t of CONFORMANCE_TESTS.filter((t) => t.unless !== undefined))
      expect(outcome.passed).toContain(t.name);
  });
});

describe("the suite catches every deliberately broken backend", () => {
  test("the defect table covers every defect and names only real tests", () => {
    expect(Object.keys(DEFECT_TABLE).sort()).toEqual([...DEFECTS].sort());
    for (const { caughtBy } of Object.values(DEFECT_TABLE))
      for (const name of caughtBy) expect(allNames).toContain(name);
  });

  for (const defect of DEFECTS) {
    test(`${defect}: ${DEFECT_TABLE[defect].what}`, async () => {
      // Defects of persistence and distribution need those claimed, with the hooks that test them.
      const shared = SHARED_DEFECTS.has(defect) ? sharedReference({ defect }) : undefined;
      const backend = shared?.backend ?? referenceBackend({ defect });
      backends.push(shared ? { ...backend, dispose: shared.dispose } : backend);
      try {
        // The model-based test is random: its catches are checked below with a fixed seed.
        const outcome = await runSuite(backend, { ...shared?.hooks, disable: [MODEL_TEST_NAME] });
        assert.ok(outcome.failed.size > 0, `no test caught ${defect}`);
        // Exactly the tests the README lists for this defect.
        expect([...outcome.failed.keys()]).toEqual(DEFECT_TABLE[defect].caughtBy);
      } finally {
        (shared?.dispose ?? backend.dispose)();
      }
    });
  }
});

/** Defects the model-based test alone finds, with a fixed seed (the named tests find all of them). */
const MODEL_CATCHES: readonly Defect[] = [
  "batch-claims-atomic-applies-half",
  "version-does-not-move",
  "failed-set-moves-version",
  "duplicate-name-accepted",
  "constraints-ignored-on-set",
  "values-not-normalised",
  "delete-leaves-name-resolvable",
  "list-sorted-by-name",
  "compare-and-set-ignored",
  "import-not-validated",
  "import-resets-versions-and-timestamps",
  "unanchored-patterns",
  "unsubscribe-not-idempotent",
  "streaming-claimed-without-events",
];

describe("the model-based test on its own", () => {
  const onlyModel = allNames.filter((n) => n !== MODEL_TEST_NAME);
  test.each(MODEL_CATCHES)("finds %s", async (defect) => {
    const backend = referenceBackend({ defect });
    backends.push(backend);
    const outcome = await runSuite(backend, { disable: onlyModel, modelRuns: 100, modelSeed: 42 });
    expect([...outcome.failed.keys()]).toEqual([MODEL_TEST_NAME]);
    // A failure names the seed and the shrunk command sequence.
    expect(outcome.messages.get(MODEL_TEST_NAME)).toMatch(
      /seed 42[\s\S]*shrunk command sequence:\n {2}1\. /,
    );
  });
});
