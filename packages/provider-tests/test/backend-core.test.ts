import { defineProvider, MemoryProvider, openTableSession } from "@dspex/state-provider/backend";
import { expect, test } from "vitest";
import { runSuite } from "./run-suite.js";

/*
 * The backend core's promise to backend authors: storage is all they write. The worked example
 * of the contract README (a backend that is only its `open`) and the core's MemoryProvider pass
 * the whole suite.
 */

test("the contract README's worked example (defineProvider + openTableSession) passes the suite", async () => {
  const MyBackend = defineProvider({
    name: "MyBackend",
    capabilities: {
      atomicUpdates: true,
      streaming: true,
      persistence: false,
      distribution: false,
      compareAndSet: true,
      history: true,
    },
    requiresBridge: false,
    open: (request) => openTableSession(request),
  });
  const outcome = await runSuite(MyBackend);
  expect(Object.fromEntries(outcome.failed)).toEqual({});
  expect(outcome.passed.length).toBeGreaterThan(70);
});

test("the core's MemoryProvider passes the suite", async () => {
  const outcome = await runSuite(new MemoryProvider());
  expect(Object.fromEntries(outcome.failed)).toEqual({});
});
