import type { Capabilities, InitOptions } from "@dspex/state-provider";
import { describe, expect, test } from "vitest";
import { CONFORMANCE_TESTS, providerTests } from "../src/index.js";
import { referenceBackend, referenceStorage } from "./reference-backend.js";
import { runSuite } from "./run-suite.js";

const FLAGS = [
  "atomicUpdates",
  "streaming",
  "persistence",
  "distribution",
  "compareAndSet",
] as const;

function withCapabilities(overrides: Partial<Capabilities>) {
  const backend = referenceBackend();
  const capabilities = { ...backend.capabilities(), ...overrides };
  return { ...backend, capabilities: () => capabilities };
}

describe("the test list", () => {
  test("names are unique", () => {
    const names = CONFORMANCE_TESTS.map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
  });

  test("a test names the capability it needs, and only then", () => {
    for (const { name, requires, unless } of CONFORMANCE_TESTS) {
      if (unless !== undefined) expect(name.startsWith(`[without ${unless}] `)).toBe(true);
      else if (requires === undefined) expect(name).not.toMatch(/^\[/);
      else expect(name.startsWith(`[${requires}] `)).toBe(true);
    }
  });

  test("every capability a backend can claim is exercised by at least one test", () => {
    for (const flag of FLAGS) expect(CONFORMANCE_TESTS.some((t) => t.requires === flag)).toBe(true);
  });

  test("the spec's tests are all there", () => {
    const names = CONFORMANCE_TESTS.map((t) => t.name);
    for (const spec of [
      "implements every required callback",
      "basic variable lifecycle: register, get by name and id, set, delete",
      "batch operations: getVariables and updateVariables",
      "export and import state",
      "capabilities are booleans and requiresBridge is a boolean",
    ]) {
      expect(names).toContain(spec);
    }
  });
});

describe("providerTests", () => {
  test("a test for an unclaimed capability is not registered and is reported with the missing capability", () => {
    const registered: string[] = [];
    const skipped: [string, string][] = [];
    const report = providerTests(
      (name) => registered.push(name),
      withCapabilities({ streaming: false }),
      {
        skip: (name, reason) => skipped.push([name, reason]),
      },
    );
    const streaming = CONFORMANCE_TESTS.filter((t) => t.requires === "streaming").map(
      (t) => t.name,
    );
    expect(streaming.length).toBeGreaterThan(5);
    for (const name of streaming) expect(registered).not.toContain(name);
    for (const name of streaming) {
      const reason = skipped.find(([n]) => n === name)?.[1];
      expect(reason).toMatch(/does not claim capability streaming/);
    }
    expect(report.registered).toEqual(registered);
    expect(report.skipped.map((s) => s.name)).toEqual(skipped.map(([n]) => n));
  });

  test("disable leaves tests out and reports them; an unknown name throws", () => {
    const name = "export of an empty state has no variables";
    const registered: string[] = [];
    const report = providerTests((n) => registered.push(n), referenceBackend(), {
      disable: [name],
    });
    expect(registered).not.toContain(name);
    expect(report.skipped).toContainEqual({ name, reason: "disabled by options.disable" });
    expect(() =>
      providerTests(() => {}, referenceBackend(), { disable: ["no such test"] }),
    ).toThrow(/disable names no test/);
  });

  test("resourceCheck: false reports the leak test as skipped rather than passing it unchecked", async () => {
    const name = "cleanup leaves no timers, sockets or other handles behind";
    const outcome = await runSuite(referenceBackend({ defect: "cleanup-leaves-timer" }), {
      resourceCheck: false,
      disable: CONFORMANCE_TESTS.map((t) => t.name).filter((n) => n !== name),
    });
    expect(outcome.passed).toEqual([]);
    expect(outcome.skipped).toContain(name);
    const report = providerTests(() => {}, referenceBackend(), { resourceCheck: false });
    expect(report.skipped).toContainEqual({ name, reason: "disabled by options.resourceCheck" });
  });

  test("a backend without atomicUpdates runs the exact partial_failure test in its non-atomic form", async () => {
    const outcome = await runSuite(
      referenceBackend({ defect: "non-atomic-batch-misreports-applied" }),
    );
    expect(outcome.skipped).toContain(
      "[atomicUpdates] a failing batch applies nothing: values, versions and metadata unchanged",
    );
    expect(
      outcome.failed.has(
        "a failing batch answers partial_failure naming exactly the failing identifiers and what was applied",
      ),
    ).toBe(true);
  });

  test("hooks run around every test, after the suite's own cleanup", async () => {
    const calls: string[] = [];
    const tests: (() => Promise<void>)[] = [];
    providerTests((_, body) => tests.push(body), referenceBackend(), {
      beforeEach: () => void calls.push("before"),
      afterEach: () => void calls.push("after"),
      disable: CONFORMANCE_TESTS.map((t) => t.name).filter((n) => n !== "deleteVariable by id"),
    });
    expect(tests).toHaveLength(1);
    await tests[0]!();
    expect(calls).toEqual(["before", "after"]);
  });

  test("init options come from the author's factory", async () => {
    const sessionIds: string[] = [];
    let n = 0;
    const outcome = await runSuite(referenceBackend(), {
      initOptions: () => {
        const sessionId = `author_${++n}`;
        sessionIds.push(sessionId);
        return { sessionId };
      },
      disable: CONFORMANCE_TESTS.map((t) => t.name).filter(
        (name) => name !== "sessions are isolated from each other",
      ),
    });
    expect(outcome.passed).toEqual(["sessions are isolated from each other"]);
    expect(sessionIds).toEqual(["author_1", "author_2"]);
  });

  test("a test that fails still cleans up every state it opened", async () => {
    const backend = referenceBackend({ defect: "version-does-not-move" });
    let cleanups = 0;
    const counting = {
      ...backend,
      cleanup: async (state: unknown) => {
        cleanups++;
        return backend.cleanup(state as never);
      },
    };
    const outcome = await runSuite(counting, {
      disable: CONFORMANCE_TESTS.map((t) => t.name).filter(
        (n) => n !== "version is 1 at registration and moves by exactly one per successful set",
      ),
    });
    expect(outcome.failed.size).toBe(1);
    expect(cleanups).toBe(1);
  });

  test("setup runs once before the first body and teardown once after the last registered test, also when one fails", async () => {
    const calls: string[] = [];
    const tests: (() => Promise<void>)[] = [];
    const kept = ["deleteVariable by id", "export of an empty state has no variables"];
    providerTests(
      (_, body) => tests.push(body),
      referenceBackend({ defect: "version-does-not-move" }),
      {
        setup: async () => void calls.push("setup"),
        teardown: () => void calls.push("teardown"),
        beforeEach: () => void calls.push("test"),
        disable: CONFORMANCE_TESTS.map((t) => t.name).filter(
          (n) =>
            !kept.includes(n) &&
            n !== "setVariable works by name and by id and returns the new version",
        ),
      },
    );
    expect(tests).toHaveLength(3);
    expect(calls).toEqual([]);
    await Promise.allSettled(tests.map((body) => body()));
    expect(calls).toEqual(["setup", "test", "test", "test", "teardown"]);
  });

  test("a setup that fails or exceeds setupTimeoutMs fails every test with its error", async () => {
    const only = CONFORMANCE_TESTS.map((t) => t.name).filter(
      (n) => n !== "deleteVariable by id" && n !== "export of an empty state has no variables",
    );
    const failing = await runSuite(referenceBackend(), {
      setup: () => {
        throw new Error("no server");
      },
      disable: only,
    });
    expect([...failing.failed.values()]).toEqual(["no server", "no server"]);
    const slow = await runSuite(referenceBackend(), {
      setup: () => new Promise(() => {}),
      setupTimeoutMs: 20,
      disable: only,
    });
    expect([...slow.failed.values()]).toEqual([
      "options.setup did not finish within 20 ms",
      "options.setup did not finish within 20 ms",
    ]);
  });

  test("without secondInstance and restart the distribution and persistence tests use the provider itself; with them, the hooks' instances", async () => {
    const inits: string[] = [];
    const counted = (label: string, backend: ReturnType<typeof referenceBackend>) => ({
      ...backend,
      init: (options?: InitOptions) => {
        inits.push(label);
        return backend.init(options);
      },
    });
    const storage = referenceStorage();
    const main = counted("main", referenceBackend({ shared: true, storage }));
    const gated = CONFORMANCE_TESTS.filter(
      (t) => t.requires === "persistence" || t.requires === "distribution",
    ).map((t) => t.name);
    const others = CONFORMANCE_TESTS.map((t) => t.name).filter((n) => !gated.includes(n));
    const alone = await runSuite(main, { disable: others });
    expect(alone.passed).toEqual(gated);
    expect(new Set(inits)).toEqual(new Set(["main"]));
    inits.length = 0;
    const hooked = await runSuite(main, {
      disable: others,
      secondInstance: () => counted("second", referenceBackend({ shared: true, storage })),
      restart: () =>
        counted(
          "restarted",
          referenceBackend({ shared: true, storage: referenceStorage(storage.durable) }),
        ),
    });
    expect(hooked.passed).toEqual(gated);
    expect(new Set(inits)).toEqual(new Set(["main", "second", "restarted"]));
  });
});
