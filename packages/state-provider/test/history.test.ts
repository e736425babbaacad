import { afterEach, describe, expect, it } from "vitest";
import {
  BackendProvider,
  type BackendSession,
  defineProvider,
  MemoryProvider,
  openTableSession,
  storeLimits,
  VariableTable,
} from "../src/backend/index.js";
import { Context, parseExport, type Result, unwrap, validateProvider } from "../src/index.js";
import { memoryPair } from "./support/memory-provider.js";

const versionsOf = (result: Result<readonly { version: number }[]>) =>
  unwrap(result).map((entry) => entry.version);

describe("VariableTable history", () => {
  it("keeps the last maxVersionsPerVariable versions, newest first, the current one first", () => {
    const table = new VariableTable({
      limits: storeLimits({ maxVersionsPerVariable: 3 }, "test"),
    });
    unwrap(table.register({ name: "t", type: "float", value: 0 }));
    for (let i = 1; i <= 6; i++) unwrap(table.write("t", i / 10, {}, undefined));
    const history = unwrap(table.history("t"));
    expect(history.map((v) => v.version)).toEqual([7, 6, 5]);
    expect(history.map((v) => v.value)).toEqual([0.6, 0.5, 0.4]);
    expect(versionsOf(table.history("t", 2))).toEqual([7, 6]);
    expect(history[0]?.timestamp).toBe(unwrap(table.record("t")).updatedAt);
  });

  it("counts batch items and keeps nothing of a failed write", () => {
    const table = new VariableTable();
    unwrap(table.register({ name: "n", type: "integer", value: 1, constraints: { max: 10 } }));
    unwrap(table.writeMany([["n", 2]], {}, undefined));
    expect(table.write("n", 99, {}, undefined).ok).toBe(false);
    expect(table.writeMany([["n", 99]], {}, undefined).ok).toBe(false);
    expect(versionsOf(table.history("n"))).toEqual([2, 1]);
  });

  it("an import restarts a variable's history at its imported record; a removal drops it", () => {
    const table = new VariableTable();
    const id = unwrap(table.register({ name: "x", type: "string", value: "a" })).id;
    unwrap(table.write("x", "b", {}, undefined));
    const other = new VariableTable();
    unwrap(other.import(unwrap(parseExport(table.export("s")))));
    expect(versionsOf(other.history(id))).toEqual([2]);
    unwrap(table.remove("x"));
    expect(table.history("x")).toMatchObject({ ok: false, error: { code: "not_found" } });
    unwrap(table.register({ name: "x", type: "string", value: "c" }));
    expect(versionsOf(table.history("x"))).toEqual([1]);
  });

  it("a retention that is not a positive whole number is a programmer error", () => {
    expect(() => storeLimits({ maxVersionsPerVariable: 0 }, "T")).toThrow(/maxVersionsPerVariable/);
    expect(() => storeLimits({ maxVersionsPerVariable: 2.5 }, "T")).toThrow(/whole number/);
  });
});

describe("BackendProvider.getVariableHistory", () => {
  const provider = new MemoryProvider();

  it("checks its arguments and answers not_found for an unknown variable", async () => {
    const state = unwrap(await provider.init());
    unwrap(await provider.registerVariable(state, "t", "float", 0.5));
    for (const limit of [0, -1, 1.5, "2", Number.NaN]) {
      const refused = await provider.getVariableHistory(state, "t", { limit: limit as number });
      expect(refused).toMatchObject({ ok: false, error: { code: "invalid_argument" } });
      if (!refused.ok) expect(refused.error.message).toContain("limit");
    }
    const badIdentifier = await provider.getVariableHistory(state, 7 as unknown as string);
    expect(badIdentifier).toMatchObject({ ok: false, error: { code: "invalid_argument" } });
    const notOptions = await provider.getVariableHistory(state, "t", 3 as unknown as object);
    expect(notOptions).toMatchObject({ ok: false, error: { code: "invalid_argument" } });
    expect(await provider.getVariableHistory(state, "nope")).toMatchObject({
      ok: false,
      error: { code: "not_found" },
    });
    await provider.cleanup(state);
    expect(await provider.getVariableHistory(state, "t")).toMatchObject({
      ok: false,
      error: { code: "closed" },
    });
  });

  it("answers unsupported where the capability is not claimed, whatever the session can do", async () => {
    class Plain extends BackendProvider<BackendSession> {
      constructor() {
        super({
          name: "Plain",
          requiresBridge: false,
          capabilities: { ...new MemoryProvider().capabilities(), history: false },
        });
      }
      protected open() {
        return new MemoryProvider().init();
      }
    }
    const plain = new Plain();
    const state = unwrap(await plain.init());
    unwrap(await plain.registerVariable(state, "t", "float", 0.5));
    expect(await plain.getVariableHistory(state, "t")).toMatchObject({
      ok: false,
      error: { code: "unsupported", operation: "getVariableHistory" },
    });
    await plain.cleanup(state);
  });

  it("validateProvider refuses a history claim without getVariableHistory", () => {
    const provider = defineProvider({
      name: "Memory",
      requiresBridge: false,
      capabilities: new MemoryProvider().capabilities(),
      open: (request) => openTableSession(request),
    });
    expect(() => validateProvider(provider)).not.toThrow();
    const { getVariableHistory: _, ...withoutHistory } = provider;
    expect(() => validateProvider(withoutHistory)).toThrow(
      /history is true but getVariableHistory is missing/,
    );
  });
});

describe("Context.history", () => {
  const open: Context[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((context) => context.close()));
  });

  it("reads the active backend's history and can go back to an earlier value", async () => {
    const pair = memoryPair();
    const context = unwrap(await Context.create({ local: pair.local, bridged: pair.bridged }));
    open.push(context);
    unwrap(await context.register("score", "float", 0.1));
    unwrap(await context.set("score", 0.9, { metadata: { trial: "2" } }));
    unwrap(await context.set("score", 0.4));
    const history = unwrap(await context.history("score", { limit: 5 }));
    expect(history.map((v) => v.value)).toEqual([0.4, 0.9, 0.1]);
    const best = history.reduce((a, b) => ((b.value as number) > (a.value as number) ? b : a));
    expect(best.metadata.trial).toBe("2");
    unwrap(await context.set("score", best.value));
    expect(unwrap(await context.get("score"))).toBe(0.9);
  });
});
