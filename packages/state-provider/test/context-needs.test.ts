import { afterEach, describe, expect, it } from "vitest";
import { Context, type ExportedState, unwrap } from "../src/index.js";
import { MemoryProvider, type MemorySession } from "./support/memory-provider.js";
import { withOverrides } from "./support/wrapped-provider.js";

/*
 * A program declares what it needs of its state; the Context moves to the first configured
 * backend that delivers it (the same transactional switch as for Python), or starts there.
 */

const open: Context[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((context) => context.close()));
});

/**
 * A backend whose sessions survive cleanup: what it held is kept by session id and handed back
 * to the next init of that id, as a store outside the process (Redis) would.
 */
function durable(name = "Durable") {
  const base = new MemoryProvider({ name, requiresBridge: false });
  const kept = new Map<string, ExportedState>();
  const provider = withOverrides(base, {
    capabilities: () => ({ ...base.capabilities(), persistence: true, distribution: true }),
    async init(options = {}) {
      const stored = options.sessionId === undefined ? undefined : kept.get(options.sessionId);
      return base.init(stored === undefined ? options : { ...options, existingState: stored });
    },
    async cleanup(state: MemorySession) {
      const exported = await base.exportState(state);
      if (exported.ok) kept.set(state.sessionId, exported.value);
      await base.cleanup(state);
    },
  });
  return { base, provider };
}

async function create(options: Parameters<typeof Context.create>[0]): Promise<Context> {
  const context = unwrap(await Context.create(options));
  open.push(context);
  return context;
}

describe("Context needs", () => {
  it("require({ persistence }) moves to the first backend that claims it, keeping ids and versions", async () => {
    const local = new MemoryProvider({ name: "MemoryLocal", requiresBridge: false });
    const bridged = new MemoryProvider({ name: "MemoryBridged", requiresBridge: true });
    const store = durable();
    const context = await create({ local, bridged, backends: [store.provider], sessionId: "run" });
    const id = unwrap(await context.register("temperature", "float", 0.7));
    unwrap(await context.set("temperature", 0.9));
    const record = unwrap(await context.require({ persistence: true }));
    expect(record).toMatchObject({
      ok: true,
      reason: "require(persistence)",
      from: "local",
      to: "Durable",
      toBackend: "Durable",
      variables: 1,
    });
    expect(context.kind).toBe("Durable");
    expect(bridged.sessions.size).toBe(0);
    expect(local.sessions.size).toBe(0);
    expect(unwrap(await context.getRecord("temperature"))).toMatchObject({
      id,
      value: 0.9,
      version: 2,
    });
    // Met already: nothing to do.
    expect(unwrap(await context.require({ distribution: true }))).toBeUndefined();
  });

  it("needs nobody configured meets answer unsupported, change nothing and are not recorded", async () => {
    const local = new MemoryProvider({ name: "MemoryLocal", requiresBridge: false });
    const bridged = new MemoryProvider({ name: "MemoryBridged", requiresBridge: true });
    const context = await create({ local, bridged, sessionId: "run" });
    unwrap(await context.register("x", "integer", 1));
    const refused = await context.require({ persistence: true });
    expect(!refused.ok && refused.error.code).toBe("unsupported");
    expect(!refused.ok && refused.error.message).toMatch(/persistence/);
    expect(context.kind).toBe("local");
    // The refused need was not kept: Python alone still finds the bridged backend.
    expect(unwrap(await context.ensureBridged())).toMatchObject({ ok: true, to: "bridged" });
    expect(unwrap(await context.get("x"))).toBe(1);
  });

  it("needs add up: a backend must meet every need declared so far", async () => {
    const local = new MemoryProvider({ name: "MemoryLocal", requiresBridge: false });
    const bridged = new MemoryProvider({ name: "MemoryBridged", requiresBridge: true });
    const store = durable();
    const context = await create({ local, bridged, backends: [store.provider] });
    unwrap(await context.require({ persistence: true }));
    // Python as well: neither the bridged backend (no persistence) nor Durable (no bridge) will do.
    const refused = await context.attachWorker({ name: "optimizer" });
    expect(!refused.ok && refused.error.code).toBe("unsupported");
    expect(!refused.ok && refused.error.message).toMatch(/python \+ persistence/);
    expect(context.kind).toBe("Durable");
  });

  it("a program restarted after a crash starts on the durable backend and goes on from its session", async () => {
    const store = durable();
    const first = await create({
      local: new MemoryProvider({ name: "MemoryLocal", requiresBridge: false }),
      backends: [store.provider],
      needs: { persistence: true },
      sessionId: "run-7",
    });
    expect(first.kind).toBe("Durable");
    unwrap(await first.register("best", "float", 0.5));
    unwrap(await first.set("best", 0.8));
    await first.close();

    // The new process: its local backend is never touched; the stored session is reattached.
    const local = new MemoryProvider({ name: "MemoryLocal", requiresBridge: false });
    const again = await create({
      local,
      backends: [store.provider],
      needs: { persistence: true },
      sessionId: "run-7",
    });
    expect(local.sessions.size).toBe(0);
    expect(unwrap(await again.getRecord("best"))).toMatchObject({ value: 0.8, version: 2 });
    expect(unwrap(await again.set("best", 0.9, { expectedVersion: 2 }))).toBe(3);
  });

  it("needs that are not booleans of known names are a caller's mistake", async () => {
    const local = new MemoryProvider({ name: "MemoryLocal", requiresBridge: false });
    const context = await create({ local });
    for (const needs of [{ gpu: true }, { persistence: "yes" }, null]) {
      const refused = await context.require(needs as never);
      expect(!refused.ok && refused.error.code, JSON.stringify(needs)).toBe("invalid_argument");
    }
    const created = await Context.create({ local, needs: { python: 1 } as never });
    expect(!created.ok && created.error.code).toBe("invalid_argument");
  });
});
