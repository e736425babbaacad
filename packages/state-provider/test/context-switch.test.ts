import { afterEach, describe, expect, it } from "vitest";
import {
  Context,
  type ContextOptions,
  err,
  type Result,
  StateErrors,
  type StateProvider,
  unwrap,
  type VariableEvent,
} from "../src/index.js";
import { type MemoryProvider, type MemorySession, memoryPair } from "./support/memory-provider.js";
import { gate, type MemoryOverrides, withOverrides } from "./support/wrapped-provider.js";

const open: Context[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((context) => context.close()));
});

async function start(
  local: StateProvider<MemorySession>,
  bridged: NonNullable<ContextOptions["bridged"]>,
  sessionId = "tuning",
): Promise<Context> {
  const context = unwrap(await Context.create({ local, bridged, sessionId }));
  open.push(context);
  return context;
}

function errorOf<T>(result: Result<T>) {
  return result.ok ? undefined : result.error;
}

/** One variable of every type, with constraints and metadata, some written after registration. */
async function registerEveryType(context: Context): Promise<void> {
  unwrap(await context.register("temperature", "float", 0.7, { constraints: { min: 0, max: 2 } }));
  unwrap(
    await context.register("max_tokens", "integer", 256, {
      constraints: { min: 1, max: 4096 },
      metadata: { owner: "ana" },
    }),
  );
  unwrap(
    await context.register("system_prompt", "string", "Be brief.", {
      constraints: { maxLength: 200, pattern: "^[A-Z]" },
      description: "the system prompt",
    }),
  );
  unwrap(await context.register("stream", "boolean", false));
  unwrap(
    await context.register("model", "choice", "gpt-4o", {
      constraints: { choices: ["gpt-4o", "claude"] },
    }),
  );
  unwrap(
    await context.register("reasoner", "module", "ChainOfThought", {
      constraints: { allowedModules: ["Predict", "ChainOfThought"] },
    }),
  );
  unwrap(
    await context.register("query_vector", "embedding", [0.1, 0.2, 0.3], {
      constraints: { dimensions: 3 },
    }),
  );
  unwrap(
    await context.register(
      "weights",
      "tensor",
      { shape: [2, 2], data: [1, 2, 3, 4] },
      { constraints: { shape: [2, 2] } },
    ),
  );
  unwrap(await context.set("temperature", 0.9, { metadata: { source: "python", trial: "3" } }));
  unwrap(await context.set("temperature", 1.1));
  unwrap(await context.set("model", "claude", { metadata: { source: "optimizer" } }));
}

/** A bridged backend whose import stores part of the document, then fails. */
function importFailsMidway(bridged: MemoryProvider): StateProvider<MemorySession> {
  return withOverrides(bridged, {
    importState: async (state) => {
      unwrap(await bridged.registerVariable(state, "temperature", "float", 0.1));
      unwrap(await bridged.registerVariable(state, "partial", "integer", 1));
      return err(StateErrors.unavailable("connection reset during import"));
    },
  });
}

describe("a switch preserves the session", () => {
  it("keeps ids, versions, values, metadata, sources, constraints and timestamps", async () => {
    const { local, bridged } = memoryPair();
    const context = await start(local, bridged);
    await registerEveryType(context);
    const before = unwrap(await context.list());

    const record = unwrap(await context.ensureBridged());
    expect(record).toMatchObject({ ok: true, from: "local", to: "bridged", variables: 8 });
    expect(context.kind).toBe("bridged");
    expect(unwrap(await context.list())).toEqual(before);
    expect(unwrap(await context.getRecord("temperature"))).toMatchObject({
      version: 3,
      value: 1.1,
      source: "typescript",
      metadata: { source: "python", trial: "3" },
    });

    // The bridged backend now owns the session under the same id; the local one is released.
    expect([...bridged.sessions.keys()]).toEqual(["tuning"]);
    expect(local.sessions.size).toBe(0);

    // Constraints are still enforced, ids still resolve, versions continue.
    expect(errorOf(await context.set("temperature", 3))?.code).toBe("validation_failed");
    expect(errorOf(await context.set("model", "llama"))?.code).toBe("validation_failed");
    const id = before[0]!.id;
    expect(unwrap(await context.set(id, 1.2, { expectedVersion: 3 }))).toBe(4);
    // A new variable gets an id that collides with none of the imported ones.
    const fresh = unwrap(await context.register("top_p", "float", 0.9));
    expect(before.map((r) => r.id)).not.toContain(fresh);
  });

  it("an empty session switches too", async () => {
    const { local, bridged } = memoryPair();
    const context = await start(local, bridged);
    expect(unwrap(await context.ensureBridged())).toMatchObject({ ok: true, variables: 0 });
    expect(unwrap(await context.list())).toEqual([]);
  });
});

describe("watches across a switch", () => {
  it("a watch registered before the switch gets each later change exactly once, and none for the import", async () => {
    const { local, bridged } = memoryPair();
    const context = await start(local, bridged);
    unwrap(await context.register("temperature", "float", 0.5));
    unwrap(
      await context.register("model", "choice", "a", { constraints: { choices: ["a", "b"] } }),
    );
    const events: VariableEvent[] = [];
    const watch = unwrap(await context.watch("*", (event) => events.push(event)));
    const onlyTemperature: number[] = [];
    unwrap(await context.watch("temp*", (event) => onlyTemperature.push(event.value as number)));

    unwrap(await context.set("temperature", 0.6));
    expect(unwrap(await context.ensureBridged())).toMatchObject({ watches: 2 });
    expect(events.map((e) => `${e.kind}:${e.name}:${e.version}`)).toEqual([
      "updated:temperature:2",
    ]);

    unwrap(await context.set("temperature", 0.7));
    unwrap(await context.set("model", "b"));
    unwrap(await context.register("top_p", "float", 0.9));
    unwrap(await context.delete("top_p"));
    expect(events.map((e) => `${e.kind}:${e.name}:${e.version}`)).toEqual([
      "updated:temperature:2",
      "updated:temperature:3",
      "updated:model:2",
      "registered:top_p:1",
      "deleted:top_p:1",
    ]);
    expect(onlyTemperature).toEqual([0.6, 0.7]);

    // Exactly one backend subscription per watch, on the bridged backend; unwatch removes it.
    const session = bridged.sessions.get("tuning")!;
    expect(session.table.subscriberCount).toBe(2);
    unwrap(await watch.unwatch());
    expect(session.table.subscriberCount).toBe(1);
    unwrap(await context.set("temperature", 0.8));
    expect(events).toHaveLength(5);
    expect(onlyTemperature).toEqual([0.6, 0.7, 0.8]);
  });
});

describe("a failed switch rolls back", () => {
  async function expectIntact(context: Context, local: MemoryProvider, before: unknown) {
    expect(context.kind).toBe("local");
    expect(context.info()).toMatchObject({
      kind: "local",
      backend: "MemoryLocal",
      switches: 0,
      switching: false,
    });
    expect(unwrap(await context.list())).toEqual(before);
    expect(local.sessions.has("tuning")).toBe(true);
    // Still fully usable: writes land on the local backend.
    expect(unwrap(await context.set("max_tokens", 300))).toBe(2);
  }

  it("when the new backend's import fails midway: the half-made session is cleaned up", async () => {
    const { local, bridged } = memoryPair();
    const context = await start(local, importFailsMidway(bridged));
    await registerEveryType(context);
    const events: string[] = [];
    unwrap(await context.watch("*", (event) => events.push(event.name)));
    const before = unwrap(await context.list());

    const result = await context.ensureBridged();
    expect(errorOf(result)).toMatchObject({
      code: "unavailable",
      message: "connection reset during import",
    });
    await expectIntact(context, local, before);
    expect(bridged.sessions.size).toBe(0);
    // The watch still works on the local backend, and saw nothing of the failed import.
    expect(events).toEqual(["max_tokens"]);
    expect(context.info().history).toEqual([
      expect.objectContaining({
        ok: false,
        failedStep: "import",
        variables: 8,
        toBackend: "MemoryBridged",
      }),
    ]);
  });

  it("when the new backend's init fails", async () => {
    const { local, bridged } = memoryPair();
    const context = await start(
      local,
      withOverrides(bridged, {
        init: async () => err(StateErrors.unavailable("bridge port in use")),
      }),
    );
    await registerEveryType(context);
    const before = unwrap(await context.list());
    expect(errorOf(await context.ensureBridged())?.message).toBe("bridge port in use");
    await expectIntact(context, local, before);
    expect(context.info().history[0]).toMatchObject({
      ok: false,
      failedStep: "init",
      variables: undefined,
    });
  });

  it("when verification finds the copy differs: the error names the variable and field", async () => {
    const { local, bridged } = memoryPair();
    const silentlyWrong = withOverrides(bridged, {
      importState: async (state, document) => {
        const imported = await bridged.importState(state, document);
        if (imported.ok) unwrap(await bridged.setVariable(state, "stream", true));
        return imported;
      },
    });
    const context = await start(local, silentlyWrong);
    await registerEveryType(context);
    const before = unwrap(await context.list());
    const streamId = before.find((r) => r.name === "stream")!.id;

    const error = errorOf(await context.ensureBridged());
    expect(error).toMatchObject({ code: "invalid_export", path: `variables.${streamId}.version` });
    expect(error?.message).toContain(
      "MemoryBridged holds version 2 after import, the export has 1",
    );
    await expectIntact(context, local, before);
    expect(bridged.sessions.size).toBe(0);
  });

  it("when the copy has extra variables", async () => {
    const { local, bridged } = memoryPair();
    const addsOne = withOverrides(bridged, {
      importState: async (state, document) => {
        unwrap(await bridged.registerVariable(state, "stray", "integer", 1));
        return bridged.importState(state, document);
      },
    });
    const context = await start(local, addsOne);
    await registerEveryType(context);
    const before = unwrap(await context.list());
    expect(errorOf(await context.ensureBridged())).toMatchObject({
      code: "invalid_export",
      path: "variables",
    });
    await expectIntact(context, local, before);
    expect(bridged.sessions.size).toBe(0);
  });

  it("when a watch cannot be moved", async () => {
    const { local, bridged } = memoryPair();
    const refuses = withOverrides(bridged, {
      subscribe: async () =>
        err(StateErrors.limitExceeded("subscriptions", 0, "no subscriptions allowed")),
    });
    const context = await start(local, refuses);
    await registerEveryType(context);
    const seen: string[] = [];
    unwrap(await context.watch("max_*", (event) => seen.push(event.name)));
    const before = unwrap(await context.list());
    expect(errorOf(await context.ensureBridged())?.code).toBe("limit_exceeded");
    await expectIntact(context, local, before);
    expect(seen).toEqual(["max_tokens"]);
    expect(bridged.sessions.size).toBe(0);
    expect(context.info().history[0]?.failedStep).toBe("subscribe");
  });

  it("when the new backend has no subscriptions but watches are live (nothing is even initialised)", async () => {
    const { local, bridged } = memoryPair();
    const { subscribe: _s, unsubscribe: _u, ...withoutStreaming } = withOverrides(bridged, {});
    const context = await start(local, withoutStreaming);
    await registerEveryType(context);
    unwrap(await context.watch("*", () => {}));
    const before = unwrap(await context.list());
    expect(errorOf(await context.ensureBridged())).toMatchObject({
      code: "unsupported",
      message: "MemoryBridged does not support watch (1 live watch(es) would be lost)",
    });
    await expectIntact(context, local, before);
    expect(bridged.sessions.size).toBe(0);
  });

  it("when the new backend throws instead of answering", async () => {
    const { local, bridged } = memoryPair();
    const throwing = withOverrides(bridged, {
      importState: async () => {
        throw new Error("socket hang up");
      },
    });
    const context = await start(local, throwing);
    await registerEveryType(context);
    const before = unwrap(await context.list());
    expect(errorOf(await context.ensureBridged())).toMatchObject({
      code: "unavailable",
      message: "MemoryBridged.importState threw: socket hang up",
    });
    await expectIntact(context, local, before);
    expect(bridged.sessions.size).toBe(0);
  });

  it("when the bridged factory throws or returns something that is not a provider; a later attempt succeeds", async () => {
    const { local, bridged } = memoryPair();
    const attempts: (() => StateProvider<MemorySession>)[] = [
      () => {
        throw new Error("python not found");
      },
      () => ({ name: "NotAProvider" }) as never,
      () => bridged,
    ];
    let calls = 0;
    const context = await start(local, async () => attempts[calls++]!());
    await registerEveryType(context);
    const before = unwrap(await context.list());

    expect(errorOf(await context.ensureBridged())).toMatchObject({
      code: "unavailable",
      message: "the bridged backend factory threw: python not found",
    });
    expect(errorOf(await context.ensureBridged())).toMatchObject({ code: "invalid_argument" });
    await expectIntact(context, local, before);

    unwrap(await context.ensureBridged());
    unwrap(await context.ensureBridged());
    expect(calls).toBe(3);
    expect(context.kind).toBe("bridged");
    expect(context.info().history.map((r) => [r.ok, r.failedStep, r.toBackend])).toEqual([
      [false, "create", undefined],
      [false, "create", undefined],
      [true, undefined, "MemoryBridged"],
    ]);
    expect(unwrap(await context.getRecord("max_tokens"))).toMatchObject({ value: 300, version: 2 });
  });

  it("a failed import, then a retry with a working backend, moves the state exactly once", async () => {
    const { local, bridged } = memoryPair();
    let failNext = true;
    const flaky = withOverrides(bridged, {
      importState: (state, document) => {
        if (!failNext) return bridged.importState(state, document);
        failNext = false;
        return importFailsMidway(bridged).importState(state, document);
      },
    });
    const context = await start(local, flaky);
    await registerEveryType(context);
    const before = unwrap(await context.list());
    expect((await context.ensureBridged()).ok).toBe(false);
    unwrap(await context.ensureBridged());
    expect(unwrap(await context.list())).toEqual(before);
    expect(context.info()).toMatchObject({ switches: 1, kind: "bridged" });
  });
});

describe("operations racing a switch", () => {
  it("1000 concurrent sets of distinct variables around a switch: each applied exactly once", async () => {
    const { local, bridged } = memoryPair({ yieldEachCall: true });
    const context = await start(local, bridged);
    const count = 1000;
    for (let i = 0; i < count; i++) unwrap(await context.register(`v${i}`, "integer", 0));
    const updated = new Map<string, number>();
    unwrap(
      await context.watch("v*", (event) => {
        if (event.kind === "updated") updated.set(event.name, (updated.get(event.name) ?? 0) + 1);
      }),
    );
    local.writesApplied = 0;

    const sets: Promise<Result<number>>[] = [];
    const reads: Promise<Result<unknown>>[] = [];
    let switching: Promise<unknown> | undefined;
    for (let i = 0; i < count; i++) {
      if (i === count / 2) switching = context.ensureBridged();
      sets.push(context.set(`v${i}`, i + 1));
      if (i % 50 === 0) reads.push(context.get(`v${i}`));
    }
    const versions = await Promise.all(sets);
    await switching;

    expect(versions.every((v) => v.ok && v.value === 2)).toBe(true);
    expect((await Promise.all(reads)).every((r) => r.ok)).toBe(true);
    expect(local.writesApplied + bridged.writesApplied).toBe(count);
    expect(local.writesApplied).toBe(count / 2);
    expect(context.kind).toBe("bridged");
    const records = unwrap(await context.list());
    expect(
      records.every((r, i) => r.name === `v${i}` && r.value === i + 1 && r.version === 2),
    ).toBe(true);
    expect(updated.size).toBe(count);
    expect([...updated.values()].every((n) => n === 1)).toBe(true);
  });

  it("1000 compare-and-set writes of one counter around a switch: none lost, none doubled", async () => {
    const { local, bridged } = memoryPair({ yieldEachCall: true });
    const context = await start(local, bridged);
    unwrap(await context.register("counter", "integer", 0));
    const seen: number[] = [];
    unwrap(await context.watch("counter", (event) => seen.push(event.value as number)));

    // Write n expects version n: one lost or doubled write makes every later one conflict.
    const writes: Promise<Result<number>>[] = [];
    let switching: Promise<unknown> | undefined;
    for (let n = 1; n <= 1000; n++) {
      if (n === 333) switching = context.ensureBridged();
      writes.push(context.set("counter", n, { expectedVersion: n }));
    }
    const results = await Promise.all(writes);
    await switching;
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(unwrap(await context.getRecord("counter"))).toMatchObject({
      value: 1000,
      version: 1001,
    });
    expect(seen).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(context.info().history[0]).toMatchObject({ ok: true, variables: 1 });
  });

  it("reads go to the old backend during a switch; writes wait for it and land on the new one", async () => {
    const { local, bridged } = memoryPair();
    const hold = gate();
    const slowInit: MemoryOverrides = {
      init: async (options) => {
        await hold.opened;
        return bridged.init(options);
      },
    };
    const context = await start(local, withOverrides(bridged, slowInit));
    unwrap(await context.register("x", "integer", 1));
    local.writesApplied = 0;

    const switching = context.ensureBridged();
    await new Promise((resolve) => setImmediate(resolve));
    expect(context.info()).toMatchObject({ switching: true, kind: "local" });
    expect(unwrap(await context.get("x"))).toBe(1);
    let written: Result<number> | undefined;
    const write = context.set("x", 2).then((result) => {
      written = result;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(written).toBeUndefined();

    hold.open();
    await write;
    expect(unwrap(await switching)).toMatchObject({ ok: true });
    expect(written && unwrap(written)).toBe(2);
    expect(local.writesApplied).toBe(0);
    expect(bridged.writesApplied).toBe(1);
  });

  it("concurrent and repeated ensureBridged calls share one switch", async () => {
    const { local, bridged } = memoryPair({ yieldEachCall: true });
    let inits = 0;
    const counting = withOverrides(bridged, {
      init: (options) => {
        inits++;
        return bridged.init(options);
      },
    });
    const context = await start(local, counting);
    unwrap(await context.register("x", "integer", 1));
    const [a, b] = await Promise.all([context.ensureBridged(), context.ensureBridged()]);
    expect(unwrap(a)).toBe(unwrap(b));
    expect(unwrap(await context.ensureBridged())).toBeUndefined();
    expect(inits).toBe(1);
    expect(context.info().switches).toBe(1);
  });
});

describe("declaring Python", () => {
  it("registering a program that requires Python switches, and records why", async () => {
    const { local, bridged } = memoryPair();
    const context = await start(local, bridged);
    unwrap(await context.register("temperature", "float", 0.7));
    unwrap(await context.registerProgram({ name: "summarize" }));
    expect(context.kind).toBe("local");
    const program = unwrap(
      await context.registerProgram({ name: "optimizer", requiresPython: true }),
    );
    expect(program.requiresPython).toBe(true);
    expect(context.kind).toBe("bridged");
    expect(context.info().history[0]?.reason).toBe('program "optimizer" requires Python');
    unwrap(await context.registerProgram({ name: "scorer", requiresPython: true }));
    expect(context.info().switches).toBe(1);
  });

  it("attaching a worker switches and answers the session id it must open; detaching never switches back", async () => {
    const { local, bridged } = memoryPair();
    const context = await start(local, bridged);
    const worker = unwrap(await context.attachWorker({ name: "optimizer" }));
    expect(worker).toMatchObject({
      name: "optimizer",
      sessionId: "tuning",
      backend: "MemoryBridged",
    });
    expect(errorOf(await context.attachWorker({ name: "optimizer" }))?.code).toBe(
      "invalid_argument",
    );
    unwrap(context.detachWorker("optimizer"));
    unwrap(context.detachWorker("optimizer"));
    expect(context.info()).toMatchObject({ kind: "bridged", workers: [] });
  });

  it("a failed switch registers no program and no worker", async () => {
    const { local, bridged } = memoryPair();
    const context = await start(local, importFailsMidway(bridged));
    expect((await context.registerProgram({ name: "optimizer", requiresPython: true })).ok).toBe(
      false,
    );
    expect((await context.attachWorker({ name: "w" })).ok).toBe(false);
    expect(context.info()).toMatchObject({ kind: "local", programs: [], workers: [] });
    expect(context.info().history.map((r) => r.reason)).toEqual([
      'program "optimizer" requires Python',
      'worker "w" attached',
    ]);
  });
});

describe("info and close after a switch", () => {
  it("info reports the backend, capabilities and the switch history", async () => {
    const { local, bridged } = memoryPair();
    const context = await start(local, bridged);
    await registerEveryType(context);
    unwrap(await context.watch("*", () => {}));
    const before = Date.now();
    unwrap(await context.ensureBridged());
    const info = context.info();
    expect(info).toMatchObject({
      kind: "bridged",
      backend: "MemoryBridged",
      sessionId: "tuning",
      requiresBridge: true,
      capabilities: bridged.capabilities(),
      switches: 1,
      switching: false,
      watches: 1,
    });
    expect(info.history).toHaveLength(1);
    const [record] = info.history;
    expect(record).toMatchObject({
      reason: "ensureBridged()",
      from: "local",
      to: "bridged",
      fromBackend: "MemoryLocal",
      toBackend: "MemoryBridged",
      variables: 8,
      watches: 1,
      ok: true,
      failedStep: undefined,
      error: undefined,
    });
    expect(record!.durationMs).toBeGreaterThanOrEqual(0);
    expect(record!.startedAt).toBeGreaterThanOrEqual(before - 1);
    expect(info.lastSwitchAt).toBeGreaterThanOrEqual(record!.startedAt);
  });

  it("close releases both backends; calls afterwards answer closed", async () => {
    const { local, bridged } = memoryPair();
    const context = await start(local, bridged);
    unwrap(await context.register("x", "integer", 1));
    unwrap(await context.ensureBridged());
    await context.close();
    expect(local.sessions.size).toBe(0);
    expect(bridged.sessions.size).toBe(0);
    expect(errorOf(await context.get("x"))?.code).toBe("closed");
    expect(errorOf(await context.set("x", 2))?.code).toBe("closed");
  });

  it("close during a switch waits for it, then releases both backends", async () => {
    const { local, bridged } = memoryPair();
    const hold = gate();
    const context = await start(
      local,
      withOverrides(bridged, {
        init: async (options) => {
          await hold.opened;
          return bridged.init(options);
        },
      }),
    );
    unwrap(await context.register("x", "integer", 1));
    const switching = context.ensureBridged();
    await new Promise((resolve) => setImmediate(resolve));
    const closing = context.close();
    expect(errorOf(await context.get("x"))?.code).toBe("closed");
    hold.open();
    await closing;
    expect((await switching).ok).toBe(true);
    expect(local.sessions.size).toBe(0);
    expect(bridged.sessions.size).toBe(0);
  });

  it("a switch still waiting in the queue when close is called does not start", async () => {
    const { local, bridged } = memoryPair({ yieldEachCall: true });
    const context = await start(local, bridged);
    unwrap(await context.register("x", "integer", 1));
    const pending = context.set("x", 2);
    const switching = context.ensureBridged();
    await context.close();
    expect(unwrap(await pending)).toBe(2);
    expect(errorOf(await switching)?.code).toBe("closed");
    expect(bridged.sessions.size).toBe(0);
    expect(local.sessions.size).toBe(0);
  });
});
