import { afterAll, describe, expect, it } from "vitest";
import { BridgeServer, RemoteState, SessionStore } from "../src/index.js";
import { until } from "./helpers.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function open(address: string, sessionId: string, readCache: boolean | string = true) {
  const remote = new RemoteState({ address, readCache, deadlineMs: 1_000 });
  const init = await remote.init({ sessionId });
  if (!init.ok) throw new Error(init.error.message);
  cleanups.push(() => remote.cleanup(init.value));
  return { remote, state: init.value };
}

describe("RemoteState read cache (readCache)", () => {
  it("serves reads from the watch stream and hears others' writes", async () => {
    const store = new SessionStore();
    cleanups.push(() => store.close());
    const server = await BridgeServer.start({ store });
    cleanups.push(() => server.close());
    const writer = await open(server.address, "cached", false);
    await writer.remote.registerVariable(writer.state, "temperature", "float", 0.7);
    const reader = await open(server.address, "cached");
    expect(await reader.remote.waitUntilCached(reader.state, ["temperature"])).toBe(true);

    const before = reader.remote.cacheStats(reader.state)!;
    expect(await reader.remote.getVariable(reader.state, "temperature")).toEqual({
      ok: true,
      value: 0.7,
    });
    const record = await reader.remote.getVariableRecord(reader.state, "temperature");
    expect(record.ok && record.value.version).toBe(1);
    expect(await reader.remote.getVariables(reader.state, ["temperature"])).toEqual({
      ok: true,
      value: { temperature: 0.7 },
    });
    const after = reader.remote.cacheStats(reader.state)!;
    expect(after.hits - before.hits).toBe(3);
    expect(after.live).toBe(true);

    await writer.remote.setVariable(writer.state, "temperature", 1.5);
    await until(() => store.get("cached", "temperature").ok, "the write");
    let seen: unknown;
    await until(() => {
      void reader.remote.getVariable(reader.state, "temperature").then((r) => {
        seen = r.ok && r.value;
      });
      return seen === 1.5;
    }, "the cache to hear the other writer");
    // Its id answers as well as its name.
    const id = record.ok ? record.value.id : "";
    expect(await reader.remote.getVariable(reader.state, id)).toEqual({ ok: true, value: 1.5 });
  });

  it("reads its own writes at once, and a deletion at once", async () => {
    const server = await BridgeServer.start();
    cleanups.push(() => server.close());
    const { remote, state } = await open(server.address, "own");
    await remote.registerVariable(state, "n", "integer", 1);
    expect(await remote.waitUntilCached(state, ["n"])).toBe(true);
    for (let i = 2; i < 50; i++) {
      await remote.setVariable(state, "n", i);
      expect(await remote.getVariable(state, "n")).toEqual({ ok: true, value: i });
    }
    await remote.updateVariables(state, { n: 100 });
    expect(await remote.getVariable(state, "n")).toEqual({ ok: true, value: 100 });
    await remote.deleteVariable(state, "n");
    const gone = await remote.getVariable(state, "n");
    expect(!gone.ok && gone.error.code).toBe("not_found");
    // Registered again under the name: never answered with the deleted variable's value.
    await remote.registerVariable(state, "n", "string", "again");
    expect(await remote.getVariable(state, "n")).toEqual({ ok: true, value: "again" });
    expect(await remote.waitUntilCached(state, ["n"])).toBe(true);
    expect(await remote.getVariable(state, "n")).toEqual({ ok: true, value: "again" });
  });

  it("caches only the names of its pattern", async () => {
    const server = await BridgeServer.start();
    cleanups.push(() => server.close());
    const { remote, state } = await open(server.address, "pattern", "lm.*");
    await remote.registerVariable(state, "lm.temperature", "float", 0.1);
    await remote.registerVariable(state, "other", "float", 0.2);
    expect(await remote.waitUntilCached(state, ["lm.temperature"])).toBe(true);
    expect(await remote.waitUntilCached(state, ["other"], 200)).toBe(false);
    const before = remote.cacheStats(state)!;
    expect(await remote.getVariable(state, "other")).toEqual({ ok: true, value: 0.2 });
    expect(remote.cacheStats(state)!.misses - before.misses).toBe(1);
  });

  it("empties when the stream breaks and serves again once the stream re-delivers", async () => {
    const store = new SessionStore();
    cleanups.push(() => store.close());
    let server = await BridgeServer.start({ store });
    const port = server.port;
    const { remote, state } = await open(server.address, "flaky");
    await remote.registerVariable(state, "n", "integer", 1);
    expect(await remote.waitUntilCached(state, ["n"])).toBe(true);
    await server.close();
    await until(() => remote.cacheStats(state)?.live === false, "the break to be seen");
    // Nothing is answered from memory while the stream is down.
    const down = await remote.getVariable(state, "n");
    expect(!down.ok && down.error.code).toBe("unavailable");
    store.set("flaky", "n", 7);
    server = await BridgeServer.start({ store, port });
    cleanups.push(() => server.close());
    expect(await remote.waitUntilCached(state, ["n"], 5_000)).toBe(true);
    expect(await remote.getVariable(state, "n")).toEqual({ ok: true, value: 7 });
    expect(remote.cacheStats(state)!.connects).toBeGreaterThanOrEqual(2);
  });

  it("has no cache unless asked for", async () => {
    const server = await BridgeServer.start();
    cleanups.push(() => server.close());
    const { remote, state } = await open(server.address, "plain", false);
    expect(remote.cacheStats(state)).toBeUndefined();
    expect(await remote.waitUntilCached(state, ["x"])).toBe(false);
  });
});

describe("RemoteState reads of unchanged variables", () => {
  it("answer the same record for the same answer bytes, and a new one once it changed", async () => {
    const server = await BridgeServer.start();
    cleanups.push(() => server.close());
    const reader = await open(server.address, "decoded", false);
    const writer = await open(server.address, "decoded", false);
    await writer.remote.registerVariable(writer.state, "x", "embedding", [0.5, 1]);
    await writer.remote.registerVariable(writer.state, "y", "integer", 1);
    const first = await reader.remote.getVariableRecord(reader.state, "x");
    const again = await reader.remote.getVariableRecord(reader.state, "x");
    expect(first.ok && again.ok && first.value === again.value).toBe(true);
    const batch = await reader.remote.getVariables(reader.state, ["x", "y"]);
    expect(batch).toEqual({ ok: true, value: { x: [0.5, 1], y: 1 } });

    await writer.remote.setVariable(writer.state, "x", [2, 3]);
    await writer.remote.setVariable(writer.state, "y", 2);
    expect(await reader.remote.getVariable(reader.state, "x")).toEqual({ ok: true, value: [2, 3] });
    expect(await reader.remote.getVariables(reader.state, ["x", "y"])).toEqual({
      ok: true,
      value: { x: [2, 3], y: 2 },
    });
    // Deleted and registered again with another type elsewhere: the reader writes by the new rules.
    await writer.remote.deleteVariable(writer.state, "y");
    await writer.remote.registerVariable(writer.state, "y", "string", "s");
    expect(await reader.remote.getVariable(reader.state, "y")).toEqual({ ok: true, value: "s" });
    const written = await reader.remote.setVariable(reader.state, "y", "t");
    expect(written.ok).toBe(true);
    expect(await writer.remote.getVariable(writer.state, "y")).toEqual({ ok: true, value: "t" });
  });
});
