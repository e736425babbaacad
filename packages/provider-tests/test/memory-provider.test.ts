import { expect, test } from "vitest";
import { MemoryProvider } from "../../state-provider/test/support/memory-provider.js";
import { runSuite } from "./run-suite.js";

/*
 * The Context tests of @dspex/state-provider run on its MemoryProvider, whose comment promises it
 * passes this suite; it is checked here because that package cannot depend on this one (cycle).
 * Turbo does not see this cross-package file as an input: rerun with --force after changing it.
 */

test("the state-provider package's MemoryProvider (the Context tests' backend) passes the suite", async () => {
  const outcome = await runSuite(new MemoryProvider({ name: "Memory", requiresBridge: false }));
  expect(Object.fromEntries(outcome.failed)).toEqual({});
});
