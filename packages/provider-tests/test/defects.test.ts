import assert from "node:assert/strict";
import { afterAll, describe, expect, test } from "vitest";
import { CONFORMANCE_TESTS } from "../src/index.js";
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
    // persistence and distribution are not claimed here; every other test ran.
    expect(outcome.skipped.sort()).toEqual(
      CONFORMANCE_TESTS.filter((t) => t.requires === "persistence" || t.requires === "distribution")
        .map((t) => t.name)
        .sort(),
    );
  });

  test("with persistence and distribution claimed, those tests run and pass too", async () => {
    const shared = sharedReference();
    backends.push({ ...shared.backend, dispose: shared.dispose });
    const outcome = await runSuite(shared.backend, shared.hooks);
    expect(Object.fromEntries(outcome.failed)).toEqual({});
    expect(outcome.skipped).toEqual([]);
    expect(outcome.passed).toEqual(allNames);
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
        const outcome = await runSuite(backend, shared?.hooks);
        assert.ok(outcome.failed.size > 0, `no test caught ${defect}`);
        // Exactly the tests the README lists for this defect.
        expect([...outcome.failed.keys()]).toEqual(DEFECT_TABLE[defect].caughtBy);
      } finally {
        (shared?.dispose ?? backend.dispose)();
      }
    });
  }
});
