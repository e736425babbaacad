import { afterEach, describe, expect, it } from "vitest";
import {
  Context,
  type ContextOptions,
  err,
  type Result,
  StateErrors,
  unwrap,
  type VariableEvent,
} from "../src/index.js";
import { MemoryProvider, memoryPair } from "./support/memory-provider.js";
import { withOverrides } from "./support/wrapped-provider.js";

const open: Context[] = [];

async function createContext(options: Partial<ContextOptions> = {}) {
  const pair = memoryPair();
  const context = unwrap(
    await Context.create({ local: pair.local, bridged: pair.bridged, ...options }),
  );
  open.push(context);
  return { context, ...pair };
}

function errorCode<T>(result: Result<T>): string | undefined {
  return result.ok ? undefined : result.error.code;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((context) => context.close()));
});

describe("Context.create", () => {
  it("starts on the local backend with the session id the backend generated", async () => {
    const { context, local, bridged } = await createContext();
    const info = context.info();
    expect(info).toMatchObject({
      kind: "local",
      backend: "MemoryLocal",
      requiresBridge: false,
      switches: 0,
      lastSwitchAt: undefined,
      history: [],
      switching: false,
      closed: false,
    });
    expect(context.kind).toBe("local");
    expect(local.sessions.has(context.sessionId)).toBe(true);
    expect(unwrap(await context.export()).sessionId).toBe(context.sessionId);
    expect(bridged.sessions.size).toBe(0);
  });

  it("uses the given session id and metadata", async () => {
    const { context, local } = await createContext({
      sessionId: "tuning-1",
      metadata: { owner: "ana" },
    });
    expect(context.sessionId).toBe("tuning-1");
    expect(local.sessions.get("tuning-1")?.table.metadata).toEqual({ owner: "ana" });
  });

  it("starts from an existing export", async () => {
    const first = await createContext();
    unwrap(await first.context.register("temperature", "float", 0.7));
    const document = unwrap(await first.context.export());
    const { context } = await createContext({ existingState: document, sessionId: "copy" });
    expect(unwrap(await context.get("temperature"))).toBe(0.7);
  });

  it("answers the local backend's init error and creates nothing", async () => {
    const local = new MemoryProvider({ name: "Broken", requiresBridge: false });
    const failing = withOverrides(local, {
      init: async () => err(StateErrors.unavailable("disk on fire")),
    });
    const result = await Context.create({ local: failing });
    expect(errorCode(result)).toBe("unavailable");
  });

  it("throws a TypeError for something that is not a provider (a programmer error)", async () => {
    const { bridged } = memoryPair();
    await expect(Context.create({ local: {} as never, bridged })).rejects.toThrow(
      /is not a valid StateProvider: missing init/,
    );
    const { local } = memoryPair();
    await expect(Context.create({ local, bridged: { name: "half" } as never })).rejects.toThrow(
      TypeError,
    );
  });
});

describe("Context variables", () => {
  it("registers, reads and writes through the backend", async () => {
    const { context } = await createContext();
    const id = unwrap(
      await context.register("temperature", "float", 0.7, {
        constraints: { min: 0, max: 2 },
        description: "sampling temperature",
      }),
    );
    expect(unwrap(await context.get("temperature"))).toBe(0.7);
    expect(unwrap(await context.get(id))).toBe(0.7);
    expect(
      unwrap(await context.set("temperature", 0.9, { metadata: { source: "optimizer" } })),
    ).toBe(2);
    const record = unwrap(await context.getRecord(id));
    expect(record).toMatchObject({
      id,
      name: "temperature",
      value: 0.9,
      version: 2,
      source: "optimizer",
      constraints: { min: 0, max: 2 },
      metadata: { description: "sampling temperature", source: "optimizer" },
    });
  });

  it("answers backend errors as results and changes nothing", async () => {
    const { context } = await createContext();
    unwrap(
      await context.register("max_tokens", "integer", 256, { constraints: { min: 1, max: 4096 } }),
    );
    expect(errorCode(await context.set("max_tokens", 5000))).toBe("validation_failed");
    expect(errorCode(await context.set("max_tokens", 512, { expectedVersion: 7 }))).toBe(
      "version_conflict",
    );
    expect(errorCode(await context.register("max_tokens", "integer", 1))).toBe("already_exists");
    expect(errorCode(await context.get("missing"))).toBe("not_found");
    expect(errorCode(await context.delete("missing"))).toBe("not_found");
    expect(unwrap(await context.getRecord("max_tokens"))).toMatchObject({ value: 256, version: 1 });
  });

  it("compare-and-set succeeds at the expected version", async () => {
    const { context } = await createContext();
    unwrap(await context.register("n", "integer", 0));
    expect(unwrap(await context.set("n", 1, { expectedVersion: 1 }))).toBe(2);
    expect(unwrap(await context.set("n", 2, { expectedVersion: 2 }))).toBe(3);
  });

  it("getMany skips missing identifiers; updateMany is all or nothing on an atomic backend", async () => {
    const { context } = await createContext();
    unwrap(await context.register("a", "integer", 1));
    unwrap(await context.register("b", "integer", 2, { constraints: { max: 10 } }));
    expect(unwrap(await context.getMany(["a", "b", "nope"]))).toEqual({ a: 1, b: 2 });

    const failed = await context.updateMany({ a: 5, b: 50 });
    expect(failed.ok).toBe(false);
    if (!failed.ok && failed.error.code === "partial_failure") {
      expect(Object.keys(failed.error.failed)).toEqual(["b"]);
      expect(failed.error.applied).toEqual([]);
    } else {
      expect.unreachable("expected partial_failure");
    }
    expect(unwrap(await context.getMany(["a", "b"]))).toEqual({ a: 1, b: 2 });

    expect(
      unwrap(await context.updateMany({ a: 5, b: 6 }, { expectedVersions: { a: 1 } })),
    ).toEqual({
      a: 2,
      b: 2,
    });
    expect(errorCode(await context.updateMany({ a: 7 }, { expectedVersions: { a: 1 } }))).toBe(
      "partial_failure",
    );
  });

  it("deletes, lists in registration order, exports and imports", async () => {
    const { context } = await createContext();
    unwrap(await context.register("first", "string", "x"));
    unwrap(await context.register("second", "boolean", true));
    unwrap(
      await context.register("third", "choice", "gpt", {
        constraints: { choices: ["gpt", "claude"] },
      }),
    );
    unwrap(await context.delete("second"));
    expect(unwrap(await context.list()).map((r) => r.name)).toEqual(["first", "third"]);

    const document = unwrap(await context.export());
    const other = await createContext();
    unwrap(await other.context.import(document));
    expect(unwrap(await other.context.list())).toEqual(unwrap(await context.list()));
    expect(errorCode(await other.context.import({ format: "nope" }))).toBe("invalid_export");
  });

  it("runs writes in call order even when not awaited", async () => {
    const { context } = await createContext();
    unwrap(await context.register("step", "integer", 0));
    const versions = await Promise.all([1, 2, 3, 4].map((n) => context.set("step", n)));
    expect(versions.map(unwrap)).toEqual([2, 3, 4, 5]);
    expect(unwrap(await context.get("step"))).toBe(4);
  });
});

describe("Context watches", () => {
  it("delivers matching events after commit and stops at unwatch", async () => {
    const { context } = await createContext();
    const events: VariableEvent[] = [];
    const watch = unwrap(await context.watch("temp*", (event) => events.push(event)));
    expect(watch.pattern).toBe("temp*");
    unwrap(await context.register("temperature", "float", 0.5));
    unwrap(await context.register("top_p", "float", 0.9));
    unwrap(await context.set("temperature", 0.6));
    unwrap(await context.delete("temperature"));
    expect(events.map((e) => [e.kind, e.name, e.value, e.version])).toEqual([
      ["registered", "temperature", 0.5, 1],
      ["updated", "temperature", 0.6, 2],
      ["deleted", "temperature", 0.6, 2],
    ]);
    expect(context.info().watches).toBe(1);

    unwrap(await watch.unwatch());
    unwrap(await watch.unwatch());
    unwrap(await context.unwatch("watch_unknown"));
    unwrap(await context.register("temp2", "float", 1));
    expect(events).toHaveLength(3);
    expect(context.info().watches).toBe(0);
  });

  it("stops delivering at once, even for a write already in flight", async () => {
    const { local } = memoryPair({ yieldEachCall: true });
    const context = unwrap(await Context.create({ local }));
    open.push(context);
    unwrap(await context.register("x", "integer", 0));
    const seen: number[] = [];
    const watch = unwrap(await context.watch("*", (event) => seen.push(event.value as number)));
    const inFlight = context.set("x", 1);
    const stopping = watch.unwatch();
    expect(unwrap(await inFlight)).toBe(2);
    unwrap(await stopping);
    expect(seen).toEqual([]);
  });

  it("rejects a bad pattern or callback with invalid_argument", async () => {
    const { context } = await createContext();
    expect(errorCode(await context.watch(42 as never, () => {}))).toBe("invalid_argument");
    expect(errorCode(await context.watch("*", "nope" as never))).toBe("invalid_argument");
  });

  it("answers unsupported on a backend without subscriptions", async () => {
    const base = new MemoryProvider({ name: "NoStreaming", requiresBridge: false });
    const { subscribe: _s, unsubscribe: _u, ...withoutStreaming } = withOverrides(base, {});
    const context = unwrap(await Context.create({ local: withoutStreaming }));
    open.push(context);
    const result = await context.watch("*", () => {});
    expect(result.ok ? undefined : result.error).toMatchObject({
      code: "unsupported",
      message: "NoStreaming does not support watch",
    });
  });
});

describe("Context with wrong argument types", () => {
  it("every method answers a result (or ok) and never throws or rejects", async () => {
    const { context } = await createContext();
    unwrap(await context.register("x", "integer", 1));
    const junk: unknown[] = [undefined, null, 42, "s", {}, [], () => {}];
    const settle = async (call: () => unknown) => {
      let result: unknown;
      try {
        result = await call();
      } catch (error) {
        return `threw ${(error as Error).message}`;
      }
      return typeof result === "object" && result !== null && "ok" in result
        ? "result"
        : "no result";
    };
    const any = (value: unknown) => value as never;
    const outcomes: Record<string, string> = {};
    for (const [i, bad] of junk.entries()) {
      const calls: Record<string, () => unknown> = {
        register: () => context.register(any(bad), any(bad), bad, any(bad)),
        registerOptions: () => context.register(`v${i}`, "integer", 1, any(bad)),
        get: () => context.get(any(bad)),
        getRecord: () => context.getRecord(any(bad)),
        set: () => context.set(any(bad), bad, any(bad)),
        setOptions: () => context.set("x", 2, any(bad)),
        setExpectedVersion: () => context.set("x", 2, { expectedVersion: any(bad) }),
        getMany: () => context.getMany(any(bad)),
        updateMany: () => context.updateMany(any(bad), any(bad)),
        updateManyOptions: () => context.updateMany({ x: 3 }, any(bad)),
        delete: () => context.delete(any(bad)),
        import: () => context.import(bad),
        watch: () => context.watch(any(bad), any(bad)),
        unwatch: () => context.unwatch(any(bad)),
        registerProgram: () => context.registerProgram(any(bad)),
        attachWorker: () => context.attachWorker(any(bad)),
        detachWorker: () => context.detachWorker(any(bad)),
      };
      for (const [name, call] of Object.entries(calls)) {
        const outcome = await settle(call);
        if (outcome !== "result") outcomes[`${name}(${String(bad)})`] = outcome;
      }
    }
    expect(outcomes).toEqual({});
    expect(context.kind).toBe("local");
  });
});

describe("Context programs and workers", () => {
  it("a program that does not need Python keeps the context local", async () => {
    const { context } = await createContext();
    const program = unwrap(await context.registerProgram({ name: "summarize" }));
    expect(program).toMatchObject({ name: "summarize", requiresPython: false });
    expect(context.kind).toBe("local");
    expect(context.info().programs.map((p) => p.name)).toEqual(["summarize"]);
  });

  it("rejects bad or duplicate declarations with invalid_argument", async () => {
    const { context } = await createContext();
    expect(errorCode(await context.registerProgram({ name: "" }))).toBe("invalid_argument");
    expect(
      errorCode(await context.registerProgram({ name: "p", requiresPython: "yes" as never })),
    ).toBe("invalid_argument");
    unwrap(await context.registerProgram({ name: "p" }));
    const duplicate = await context.registerProgram({ name: "p" });
    expect(duplicate.ok ? undefined : duplicate.error.message).toBe(
      'program "p" is already registered',
    );
    expect(errorCode(await context.attachWorker({ name: 7 as never }))).toBe("invalid_argument");
    expect(context.kind).toBe("local");
  });

  it("without a bridged backend, a switch answers unsupported and the context stays local", async () => {
    const { local } = memoryPair();
    const context = unwrap(await Context.create({ local }));
    open.push(context);
    unwrap(await context.register("x", "integer", 1));
    const result = await context.ensureBridged();
    expect(errorCode(result)).toBe("unsupported");
    expect(errorCode(await context.registerProgram({ name: "py", requiresPython: true }))).toBe(
      "unsupported",
    );
    expect(context.info().programs).toEqual([]);
    expect(context.kind).toBe("local");
    expect(unwrap(await context.get("x"))).toBe(1);
  });
});

describe("Context.close", () => {
  it("releases the backend; every call afterwards answers closed", async () => {
    const { context, local } = await createContext();
    unwrap(await context.register("x", "integer", 1));
    const watch = unwrap(await context.watch("*", () => {}));
    await context.close();
    await context.close();
    expect(local.sessions.size).toBe(0);
    expect(context.info()).toMatchObject({ closed: true, watches: 0 });

    const calls: Promise<Result<unknown>>[] = [
      context.register("y", "integer", 1),
      context.get("x"),
      context.getRecord("x"),
      context.set("x", 2),
      context.getMany(["x"]),
      context.updateMany({ x: 3 }),
      context.delete("x"),
      context.list(),
      context.export(),
      context.import({}),
      context.watch("*", () => {}),
      watch.unwatch(),
      context.ensureBridged(),
      context.registerProgram({ name: "p", requiresPython: true }),
      context.attachWorker({ name: "w" }),
    ];
    const results = await Promise.all(calls);
    expect(results.map(errorCode)).toEqual(calls.map(() => "closed"));
    expect(errorCode(context.detachWorker("w"))).toBe("closed");
  });

  it("lets writes issued before close finish", async () => {
    const { context, local } = await createContext();
    unwrap(await context.register("x", "integer", 0));
    const pending = context.set("x", 1);
    const closing = context.close();
    expect(unwrap(await pending)).toBe(2);
    await closing;
    expect(local.sessions.size).toBe(0);
  });
});
