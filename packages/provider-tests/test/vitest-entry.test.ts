import { afterAll, expect, test } from "vitest";
import { runConformanceSuite } from "../src/vitest.js";
import { referenceBackend } from "./reference-backend.js";

// The one-line vitest entry, run for real: the reference backend passes, unclaimed capabilities show as skipped.
runConformanceSuite(referenceBackend());

// setup and teardown are the block's beforeAll / afterAll: setup has run before any test body.
const calls: string[] = [];
runConformanceSuite(referenceBackend(), {
  setup: async () => void calls.push("setup"),
  teardown: () => void calls.push("teardown"),
  beforeEach: () => {
    expect(calls[0]).toBe("setup");
    calls.push("test");
  },
  disable: [],
});

test("setup ran once before the tests", () => {
  expect(calls[0]).toBe("setup");
  expect(calls.filter((c) => c === "setup")).toHaveLength(1);
});

afterAll(() => {
  // The file's own afterAll runs after the describe block's: teardown has run exactly once.
  expect(calls.filter((c) => c === "teardown")).toHaveLength(1);
  expect(calls.at(-1)).toBe("teardown");
});
