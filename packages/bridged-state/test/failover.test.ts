import type { VariableEvent } from "@dspex/state-provider";
import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { failoverKind, RemoteState } from "../src/client/remote-state.js";
import { BridgeServer } from "../src/server/bridge-server.js";
import { MEMORY_FEED_RETENTION } from "../src/store/memory-bridge-store.js";
import { SessionStore } from "../src/store/session-store.js";
import { deadAddress, FaultProxy, silentServer } from "./fault-proxy.js";
import { any, rawClient, unary, until } from "./helpers.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Two bridges serving one store, as two `dspex-bridge` processes on one Redis. */
async function twoBridges(): Promise<{ a: BridgeServer; b: BridgeServer }> {
  const store = new SessionStore();
  cleanups.push(() => store.close());
  const a = await BridgeServer.start({ store });
  cleanups.push(() => a.close());
  const b = await BridgeServer.start({ store });
  cleanups.push(() => b.close());
  return { a, b };
}

function remoteOn(addresses: string[], options: { deadlineMs?: number; readCache?: true } = {}) {
  const remote = new RemoteState({ addresses, deadlineMs: 3_000, ...options });
  return remote;
}

async function session(remote: RemoteState, sessionId: string) {
  const init = await remote.init({ sessionId });
  if (!init.ok) throw new Error(init.error.message);
  cleanups.push(() => remote.cleanup(init.value));
  return init.value;
}

/** What a bridge holds for a variable, read on the wire as another process would. */
async function onBridge(address: string, sessionId: string, identifier: string) {
  const client = rawClient(address);
  try {
    const answer = await unary<{
      variable: { id: string; version: number; value: { value: Buffer } };
    }>(client, "GetVariable", { session_id: sessionId, variable_identifier: identifier });
    if (!answer.ok) return undefined;
    const { id, version, value } = answer.response.variable;
    return { id, version, value: JSON.parse(value.value.toString("utf8")) as unknown };
  } finally {
    client.close();
  }
}

/** Polls a bridge until the variable is there (or, with `present: false`, gone). */
async function untilOnBridge(address: string, sessionId: string, name: string, present = true) {
  const deadline = Date.now() + 2_000;
  for (;;) {
    const found = await onBridge(address, sessionId, name);
    if ((found !== undefined) === present) return found;
    if (Date.now() > deadline) throw new Error(`${name} never ${present ? "came" : "went"}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Polls a bridge until the variable reached `version` (a write applied, its answer held). */
async function untilVersion(address: string, sessionId: string, name: string, version: number) {
  const deadline = Date.now() + 2_000;
  while ((await onBridge(address, sessionId, name))?.version !== version) {
    if (Date.now() > deadline) throw new Error(`${name} never reached version ${version}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("RemoteState options: one bridge or several", () => {
  it("takes exactly one of address and addresses, each a host:port, none twice", () => {
    const refused: [unknown, RegExp][] = [
      [{}, /exactly one of options\.address .* and options\.addresses/],
      [{ address: "127.0.0.1:1", addresses: ["127.0.0.1:2"] }, /exactly one of/],
      [{ address: "" }, /options\.address must be a host:port string/],
      [{ addresses: [] }, /options\.addresses must be a non-empty array/],
      [{ addresses: "127.0.0.1:1" }, /options\.addresses must be a non-empty array/],
      [
        { addresses: ["127.0.0.1:1", 7] },
        /options\.addresses\[1\] must be a host:port string, got 7/,
      ],
      [{ addresses: ["127.0.0.1:1", "127.0.0.1:1"] }, /lists "127\.0\.0\.1:1" twice/],
      [{ addresses: ["127.0.0.1:1"], connectTimeoutMs: 0 }, /connectTimeoutMs must be a positive/],
    ];
    for (const [options, message] of refused) {
      expect(() => new RemoteState(options as never), JSON.stringify(options)).toThrow(TypeError);
      expect(() => new RemoteState(options as never), JSON.stringify(options)).toThrow(message);
    }
    const pool = new RemoteState({ addresses: ["127.0.0.1:1", "127.0.0.1:2"] });
    expect(pool.addresses).toEqual(["127.0.0.1:1", "127.0.0.1:2"]);
    expect(pool.address).toBe("127.0.0.1:1");
    expect(new RemoteState({ address: "127.0.0.1:3" }).addresses).toEqual(["127.0.0.1:3"]);
  });

  it("moves on only for failures of the way to a bridge, never for an answer", () => {
    const failure = (code: grpc.status, details: string) =>
      Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });
    const U = grpc.status.UNAVAILABLE;
    // Nothing reached a bridge: any call may go to another.
    expect(
      failoverKind(failure(U, "No connection established. Last error: connect ECONNREFUSED")),
    ).toBe("unreached");
    expect(failoverKind(failure(U, "Stream refused by server"))).toBe("unreached");
    expect(failoverKind(failure(U, "dspex-bridge is shutting down"))).toBe("unreached");
    // The bridge took the call, then went away before answering.
    expect(failoverKind(failure(U, "Connection dropped"))).toBe("ambiguous");
    expect(failoverKind(failure(U, "read ECONNRESET"))).toBe("ambiguous");
    expect(failoverKind(failure(grpc.status.CANCELLED, "Call cancelled"))).toBe("ambiguous");
    // Answers (the deadline is the whole call's: nothing is left to retry with).
    for (const code of [
      grpc.status.DEADLINE_EXCEEDED,
      grpc.status.INTERNAL,
      grpc.status.UNKNOWN,
      grpc.status.NOT_FOUND,
      grpc.status.INVALID_ARGUMENT,
      grpc.status.ABORTED,
      grpc.status.ALREADY_EXISTS,
      grpc.status.RESOURCE_EXHAUSTED,
      grpc.status.UNAUTHENTICATED,
    ]) {
      expect(failoverKind(failure(code, "an answer")), grpc.status[code]).toBeUndefined();
    }
  });
});

describe("RemoteState with several bridges", () => {
  it("a dead first address: calls go to the next bridge at once", async () => {
    const { b } = await twoBridges();
    const remote = remoteOn([await deadAddress(), b.address], { deadlineMs: 10_000 });
    const started = Date.now();
    const state = await session(remote, "dead-first");
    expect((await remote.registerVariable(state, "n", "integer", 1)).ok).toBe(true);
    expect(await remote.getVariable(state, "n")).toEqual({ ok: true, value: 1 });
    // No connect timeout or deadline waited out: a refused connection hands over at once.
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(remote.address).toBe(b.address);
  });

  it("a bridge that accepts connections and never answers hands over after connectTimeoutMs", async () => {
    const { b } = await twoBridges();
    const silent = await silentServer();
    cleanups.push(() => silent.close());
    const remote = new RemoteState({
      addresses: [silent.address, b.address],
      deadlineMs: 5_000,
      connectTimeoutMs: 300,
    });
    const started = Date.now();
    const state = await session(remote, "silent-first");
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(2_000);
    expect((await remote.registerVariable(state, "n", "integer", 1)).ok).toBe(true);
  });

  it("every bridge down: calls answer unavailable by their deadline, naming the bridges, after trying again meanwhile", async () => {
    const [one, two] = [await deadAddress(), await deadAddress()];
    const remote = new RemoteState({ addresses: [one, two], deadlineMs: 400 });
    const started = Date.now();
    const init = await remote.init({ sessionId: "nobody-home" });
    const elapsed = Date.now() - started;
    expect(!init.ok && init.error.code).toBe("unavailable");
    expect(!init.ok && init.error.message).toContain(`tried ${one}, ${two}`);
    // It kept trying until the deadline (a bridge may come back), and not past it.
    expect(elapsed).toBeGreaterThanOrEqual(350);
    expect(elapsed).toBeLessThan(700);
  });

  it("a bridge that comes up within the deadline is reached by a call already waiting", async () => {
    const address = await deadAddress();
    const port = Number(address.split(":")[1]);
    const remote = new RemoteState({ addresses: [address], deadlineMs: 3_000 });
    const init = remote.init({ sessionId: "late-bridge" });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const server = await BridgeServer.start({ port });
    cleanups.push(() => server.close());
    const state = await init;
    expect(state.ok).toBe(true);
    if (state.ok) await remote.cleanup(state.value);
  });

  it("subscribe tries each bridge once and answers unavailable without waiting out its deadline", async () => {
    const { b } = await twoBridges();
    const remote = new RemoteState({
      addresses: [await deadAddress(), b.address],
      deadlineMs: 2_000,
    });
    const state = await session(remote, "no-watch");
    await b.close();
    const started = Date.now();
    const refused = await remote.subscribe(state, "*", () => {});
    expect(!refused.ok && refused.error.code).toBe("unavailable");
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("bridge A shuts down in the middle of writes and a watch: writes go on through B, each applied once", async () => {
    const { a, b } = await twoBridges();
    const remote = remoteOn([a.address, b.address]);
    const state = await session(remote, "handover");
    await remote.registerVariable(state, "n", "integer", 0);
    const events: VariableEvent[] = [];
    expect((await remote.subscribe(state, "n", (e) => events.push(e))).ok).toBe(true);
    const versions: number[] = [];
    let closing: Promise<void> | undefined;
    for (let i = 1; i <= 30; i++) {
      if (i === 11) closing = a.close();
      const written = await remote.setVariable(state, "n", i);
      if (!written.ok) throw new Error(`write ${i}: ${written.error.message}`);
      versions.push(written.value.version);
    }
    await closing;
    expect(versions).toEqual(Array.from({ length: 30 }, (_, i) => i + 2));
    expect(remote.address).toBe(b.address);
    expect(await onBridge(b.address, "handover", "n")).toMatchObject({ version: 31, value: 30 });
    // The watch re-opened on B and resumed after the last change it heard: each change once.
    await until(() => events.at(-1)?.value === 30, "the watch to hear the last write through B");
    expect(events.map((e) => [e.version, e.value, e.resync])).toEqual(
      Array.from({ length: 30 }, (_, i) => [i + 2, i + 1, undefined]),
    );
  });

  it("the read cache re-opens on B and serves what B's store holds", async () => {
    const { a, b } = await twoBridges();
    const remote = remoteOn([a.address, b.address], { readCache: true });
    const state = await session(remote, "cache-handover");
    await remote.registerVariable(state, "n", "integer", 1);
    expect(await remote.waitUntilCached(state, ["n"])).toBe(true);
    await a.close();
    await until(() => remote.cacheStats(state)?.live === false, "the break to be seen");
    const other = rawClient(b.address);
    cleanups.push(() => other.close());
    const written = await unary(other, "SetVariable", {
      session_id: "cache-handover",
      variable_identifier: "n",
      value: any("integer", 7),
    });
    expect(written.ok).toBe(true);
    await until(
      () => remote.cacheStats(state)?.live === true,
      "the cache stream to re-open on B",
      3_000,
    );
    expect(await remote.waitUntilCached(state, ["n"], 3_000)).toBe(true);
    const before = remote.cacheStats(state)!.hits;
    expect(await remote.getVariable(state, "n")).toEqual({ ok: true, value: 7 });
    expect(remote.cacheStats(state)!.hits).toBe(before + 1);
    // Resumed after the registration it heard: B replayed the write made while it was away.
    expect(remote.cacheStats(state)?.resumes).toBe(1);
  });
});

describe("RemoteState retries after an answer was lost", () => {
  /** A pool whose first bridge is behind a proxy that can lose its answers. */
  async function lossyPool(sessionId: string) {
    const { a, b } = await twoBridges();
    const proxy = await FaultProxy.start(a.address);
    cleanups.push(() => proxy.cut());
    const remote = remoteOn([proxy.address, b.address]);
    const state = await session(remote, sessionId);
    return { remote, state, proxy, b };
  }

  it("a registration the bridge applied before its answer was lost: the retry's already_exists is its own", async () => {
    const { remote, state, proxy, b } = await lossyPool("lost-register");
    proxy.hold();
    const registering = remote.registerVariable(state, "lr", "float", 0.5, {
      constraints: { min: 0, max: 1 },
      metadata: { owner: "optimizer" },
    });
    // Applied by the store, its answer held by the proxy.
    const applied = await untilOnBridge(b.address, "lost-register", "lr");
    await proxy.cut();
    const registered = await registering;
    expect(registered.ok).toBe(true);
    expect(applied).toMatchObject({ version: 1, value: 0.5 });
    const listed = await remote.listVariables(state);
    expect(listed.ok && listed.value.map((r) => [r.name, r.id, r.version])).toEqual([
      ["lr", applied?.id, 1],
    ]);
  });

  it("a registration retried after its answer was lost answers its id by request id, even when written since", async () => {
    const { remote, state, proxy, b } = await lossyPool("lost-register-changed");
    proxy.hold();
    const registering = remote.registerVariable(state, "lr", "float", 0.5);
    await untilOnBridge(b.address, "lost-register-changed", "lr");
    const other = rawClient(b.address);
    cleanups.push(() => other.close());
    await unary(other, "SetVariable", {
      session_id: "lost-register-changed",
      variable_identifier: "lr",
      value: any("float", 0.9),
    });
    await proxy.cut();
    const registered = await registering;
    // Without the request id the retry's already_exists could not be told from another's name.
    const onB = await unary<{ variable: { id: string; version: number } }>(other, "GetVariable", {
      session_id: "lost-register-changed",
      variable_identifier: "lr",
    });
    expect(onB.ok && registered.ok && registered.value.id).toBe(onB.ok && onB.response.variable.id);
    expect(onB.ok && onB.response.variable.version).toBe(2);
  });

  it("a delete the bridge applied before its answer was lost answers ok", async () => {
    const { remote, state, proxy, b } = await lossyPool("lost-delete");
    await remote.registerVariable(state, "gone", "integer", 1);
    proxy.hold();
    const deleting = remote.deleteVariable(state, "gone");
    await untilOnBridge(b.address, "lost-delete", "gone", false);
    await proxy.cut();
    expect((await deleting).ok).toBe(true);
    // A delete of what is not there is still not_found (nothing was lost this time).
    const again = await remote.deleteVariable(state, "gone");
    expect(!again.ok && again.error.code).toBe("not_found");
  });
});

describe("two bridges on one store: a bridge goes away mid-run", () => {
  it("writes go on through B, each applied once; the watcher resumes and hears every change once, in order; the cache stays coherent", async () => {
    const store = new SessionStore();
    cleanups.push(() => store.close());
    // A cuts its calls at once when it closes (no drain): writes in flight fail ambiguously.
    const a = await BridgeServer.start({ store, shutdownTimeoutMs: 0 });
    cleanups.push(() => a.close());
    const b = await BridgeServer.start({ store });
    cleanups.push(() => b.close());
    const remote = new RemoteState({ addresses: [a.address, b.address], readCache: true });
    const state = await session(remote, "mid-run");
    await remote.registerVariable(state, "n", "integer", 0);
    await remote.registerVariable(state, "m", "integer", 0);
    const events: VariableEvent[] = [];
    expect((await remote.subscribe(state, "*", (e) => events.push(e))).ok).toBe(true);
    expect(await remote.waitUntilCached(state, ["n", "m"])).toBe(true);

    const versions: number[] = [];
    let closing: Promise<void> | undefined;
    for (let i = 1; i <= 40; i++) {
      // A goes while this write is in flight.
      const writing =
        i % 2 === 1
          ? remote.setVariable(state, "n", i)
          : remote.updateVariables(state, { n: i, m: i });
      if (i === 15) closing = a.close();
      const written = await writing;
      if (!written.ok) throw new Error(`write ${i}: ${written.error.message}`);
      versions.push(
        "version" in written.value ? written.value.version : (written.value.versions.n as number),
      );
      // Read your writes, from the cache or the server, whichever serves.
      expect(await remote.getVariable(state, "n"), `read after write ${i}`).toEqual({
        ok: true,
        value: i,
      });
    }
    await closing;
    expect(remote.address).toBe(b.address);
    // Each write applied once: n's versions consecutive, its values as sent.
    expect(versions).toEqual(Array.from({ length: 40 }, (_, i) => i + 2));
    const history = await remote.getVariableHistory(state, "n");
    expect(history.ok && history.value.map((v) => [v.version, v.value])).toEqual(
      Array.from({ length: 41 }, (_, i) => [41 - i, 40 - i]),
    );
    // Every change heard once, in order, resumed on B: no snapshot catch-up (no resync marks).
    await until(() => events.filter((e) => e.name === "m").length === 20, "every write heard");
    await new Promise((resolve) => setTimeout(resolve, 50));
    const heardN = events.filter((e) => e.name === "n");
    expect(heardN.map((e) => [e.version, e.value])).toEqual(
      Array.from({ length: 40 }, (_, i) => [i + 2, i + 1]),
    );
    expect(events.filter((e) => e.name === "m").map((e) => e.value)).toEqual(
      Array.from({ length: 20 }, (_, i) => 2 * (i + 1)),
    );
    expect(events.some((e) => e.resync)).toBe(false);
    expect(events.every((e) => typeof e.cursor === "string" && e.cursor !== "")).toBe(true);
    // The cache re-opened on B (resumed) and serves the latest values from memory.
    expect(await remote.waitUntilCached(state, ["n", "m"], 3_000)).toBe(true);
    const hits = remote.cacheStats(state)!.hits;
    expect(await remote.getVariables(state, ["n", "m"])).toEqual({
      ok: true,
      value: { n: 40, m: 40 },
    });
    expect(remote.cacheStats(state)!.hits).toBe(hits + 2);
    expect(remote.cacheStats(state)).toMatchObject({ live: true, resumes: 1 });
  });

  it("then every bridge goes: calls answer unavailable within the deadline", async () => {
    const { a, b } = await twoBridges();
    const remote = new RemoteState({ addresses: [a.address, b.address], deadlineMs: 500 });
    const init = await remote.init({ sessionId: "all-gone" });
    if (!init.ok) throw new Error(init.error.message);
    await remote.registerVariable(init.value, "n", "integer", 1);
    await Promise.all([a.close(), b.close()]);
    for (const [what, call] of [
      ["getVariable", () => remote.getVariable(init.value, "n")],
      ["setVariable", () => remote.setVariable(init.value, "n", 2)],
      ["listVariables", () => remote.listVariables(init.value)],
    ] as const) {
      const started = Date.now();
      const answer = await call();
      expect(!answer.ok && answer.error.code, what).toBe("unavailable");
      expect(Date.now() - started, what).toBeLessThan(800);
    }
    const cleaning = Date.now();
    await remote.cleanup(init.value);
    expect(Date.now() - cleaning).toBeLessThan(800);
  });

  it("a set applied before its answer was lost is retried through B with its request id: applied once, the first answer", async () => {
    const { a, b } = await twoBridges();
    const proxy = await FaultProxy.start(a.address);
    cleanups.push(() => proxy.cut());
    const remote = remoteOn([proxy.address, b.address]);
    const state = await session(remote, "lost-set");
    await remote.registerVariable(state, "n", "integer", 0);
    await remote.registerVariable(state, "m", "integer", 0);
    proxy.hold();
    // Compare-and-set: applied twice, the second would answer version_conflict.
    const setting = remote.setVariable(state, "n", 5, {}, { expectedVersion: 1 });
    await untilVersion(b.address, "lost-set", "n", 2);
    await proxy.cut();
    expect(await setting).toMatchObject({ ok: true, value: { version: 2 } });
    const history = await remote.getVariableHistory(state, "n");
    expect(history.ok && history.value.map((v) => [v.version, v.value])).toEqual([
      [2, 5],
      [1, 0],
    ]);
  });

  it("a batch applied before its answer was lost is retried through B with its request id: applied once", async () => {
    const { a, b } = await twoBridges();
    const proxy = await FaultProxy.start(a.address);
    cleanups.push(() => proxy.cut());
    const remote = remoteOn([proxy.address, b.address]);
    const state = await session(remote, "lost-batch");
    await remote.registerVariable(state, "n", "integer", 0);
    await remote.registerVariable(state, "m", "integer", 0);
    proxy.hold();
    const updating = remote.updateVariables(state, { n: 1, m: 2 });
    await untilVersion(b.address, "lost-batch", "m", 2);
    await proxy.cut();
    const updated = await updating;
    expect(updated.ok && updated.value.versions).toEqual({ n: 2, m: 2 });
    for (const name of ["n", "m"]) {
      const history = await remote.getVariableHistory(state, name);
      expect(history.ok && history.value.map((v) => v.version), name).toEqual([2, 1]);
    }
  });
});

describe("a resume the store cannot honour", () => {
  it("falls back to the snapshot catch-up: the subscriber converges, marked resync; the cache starts afresh", async () => {
    const store = new SessionStore();
    cleanups.push(() => store.close());
    const a = await BridgeServer.start({ store });
    cleanups.push(() => a.close());
    let b = await BridgeServer.start({ store });
    const port = b.port;
    cleanups.push(() => b.close());
    const remote = new RemoteState({ addresses: [a.address, b.address], readCache: true });
    const state = await session(remote, "too-far");
    await remote.registerVariable(state, "n", "integer", 0);
    const events: VariableEvent[] = [];
    await remote.subscribe(state, "*", (e) => events.push(e));
    await remote.setVariable(state, "n", 1);
    await until(() => events.length === 1, "a change with a cursor");
    expect(await remote.waitUntilCached(state, ["n"])).toBe(true);
    // Both bridges down, so no stream re-opens before the changes below.
    await Promise.all([a.close(), b.close()]);
    // More changes than the store's feed keeps: the cursor heard falls out of it.
    for (let i = 2; i <= MEMORY_FEED_RETENTION + 10; i++) store.set("too-far", "n", i);
    b = await BridgeServer.start({ store, port });
    await until(() => events.length === 2, "the catch-up", 3_000);
    const last = MEMORY_FEED_RETENTION + 10;
    expect(events[1]).toMatchObject({
      kind: "updated",
      value: last,
      previousValue: 1,
      resync: true,
    });
    expect(await remote.waitUntilCached(state, ["n"], 3_000)).toBe(true);
    expect(await remote.getVariable(state, "n")).toEqual({ ok: true, value: last });
    expect(remote.cacheStats(state)?.resumes).toBe(0);
  });
});
