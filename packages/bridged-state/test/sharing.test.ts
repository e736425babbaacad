import type { VariableEvent } from "@dspex/state-provider";
import * as grpc from "@grpc/grpc-js";
import { afterAll, describe, expect, it } from "vitest";
import { BridgedState, BridgeServer, RemoteState, SessionStore } from "../src/index.js";
import type { GetVariableResponse__Output } from "../src/wire/generated/snakepit/bridge/GetVariableResponse.js";
import type { VariableUpdate__Output } from "../src/wire/generated/snakepit/bridge/VariableUpdate.js";
import { any, rawClient, startCli, unary, until } from "./helpers.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe("BridgedState shares its session over gRPC", () => {
  it("a worker on the wire sees what TypeScript writes in-process, and the other way round", async () => {
    const bridged = await BridgedState.serve({ port: 0 });
    cleanups.push(() => bridged.close());
    const init = await bridged.init({ sessionId: "shared" });
    if (!init.ok) throw new Error(init.error.message);
    const state = init.value;
    expect(state.address).toBe(bridged.address);
    expect(bridged.requiresBridge()).toBe(true);
    await bridged.registerVariable(state, "temperature", "float", 0.7, {
      constraints: { min: 0, max: 2 },
    });

    const worker = rawClient(state.address!);
    cleanups.push(() => worker.close());
    const updates: VariableUpdate__Output[] = [];
    const watch = worker.WatchVariables({
      session_id: "shared",
      variable_identifiers: ["temperature"],
    });
    watch.on("data", (u: VariableUpdate__Output) => updates.push(u));
    watch.on("error", () => {});
    await new Promise((resolve) => watch.on("metadata", resolve));

    await bridged.setVariable(state, "temperature", 0.9);
    const got = await unary<GetVariableResponse__Output>(worker, "GetVariable", {
      session_id: "shared",
      variable_identifier: "temperature",
    });
    expect(got.ok && JSON.parse(got.response.variable!.value!.value.toString("utf8"))).toBe(0.9);
    await until(() => updates.length === 1, "the watcher to hear the TypeScript write");
    expect(updates[0]!.update_source).toBe("typescript");

    const events: VariableEvent[] = [];
    await bridged.subscribe(state, "*", (e) => events.push(e));
    const set = await unary(worker, "SetVariable", {
      session_id: "shared",
      variable_identifier: "temperature",
      value: any("float", 1.1),
      metadata: { source: "python" },
    });
    expect(set.ok).toBe(true);
    const record = await bridged.getVariableRecord(state, "temperature");
    expect(record.ok && [record.value.value, record.value.version, record.value.source]).toEqual([
      1.1,
      3,
      "python",
    ]);
    expect(events.map((e) => [e.kind, e.value, e.source])).toEqual([["updated", 1.1, "python"]]);

    // cleanup deletes the session: the watcher is told (its stream ends cleanly).
    const ended = new Promise<grpc.StatusObject>((resolve) => watch.on("status", resolve));
    await bridged.cleanup(state);
    expect((await ended).code).toBe(grpc.status.OK);
  });
});

describe("BridgedState.close", () => {
  it("is final: a later init answers closed and starts no server (which would keep the process alive)", async () => {
    const bridged = new BridgedState({ serve: { port: 0 } });
    const init = await bridged.init();
    if (!init.ok) throw new Error(init.error.message);
    expect(bridged.server).toBeDefined();
    await bridged.cleanup(init.value);
    await bridged.close();
    const again = await bridged.init();
    expect(!again.ok && again.error.code).toBe("closed");
    expect(bridged.server).toBeUndefined();
    await expect(bridged.serve()).rejects.toThrow(/closed/);
    expect(bridged.server).toBeUndefined();
    await bridged.close();
  });
});

describe("RemoteState", () => {
  it("two processes share a session through a dspex-bridge CLI process", async () => {
    const server = await startCli(["--port", "0", "--token", "t0k"]);
    cleanups.push(async () => {
      await server.stop();
    });
    const { address } = server;
    const a = new RemoteState({ address, token: "t0k" });
    const b = new RemoteState({ address, token: "t0k" });
    const sa = await a.init({ sessionId: "pair", metadata: { app: "demo" } });
    const sb = await b.init({ sessionId: "pair" });
    if (!sa.ok || !sb.ok) throw new Error("init failed");
    expect(sa.value.ownsSession).toBe(true);
    expect(sb.value.ownsSession).toBe(false);
    const events: VariableEvent[] = [];
    await b.subscribe(sb.value, "emb*", (e) => events.push(e));
    const big = Array.from({ length: 512 }, (_, i) => Math.sin(i));
    const reg = await a.registerVariable(sa.value, "embedding", "embedding", big, {
      constraints: { dimensions: 512 },
    });
    expect(reg.ok).toBe(true);
    const seen = await b.getVariable(sb.value, "embedding");
    expect(seen.ok && seen.value).toEqual(big);
    await until(() => events.length === 1, "b to hear a's registration");
    expect(events[0]).toMatchObject({ kind: "registered", name: "embedding", version: 1 });
    expect(events[0]!.value).toEqual(big);
    const wrong = await b.setVariable(sb.value, "embedding", [1, 2, 3]);
    expect(!wrong.ok && wrong.error).toMatchObject({
      code: "validation_failed",
      rule: "dimensions",
    });
    const exported = await b.exportState(sb.value);
    expect(exported.ok && exported.value.metadata).toEqual({ app: "demo" });
    await b.cleanup(sb.value);
    // b joined, so its cleanup leaves the session to a.
    expect((await a.getVariable(sa.value, "embedding")).ok).toBe(true);
    await a.cleanup(sa.value);
    const wrongToken = new RemoteState({ address, token: "nope" });
    const refused = await wrongToken.init({ sessionId: "x" });
    expect(!refused.ok && refused.error.code).toBe("unauthenticated");
    expect(!refused.ok && refused.error.message).toMatch(/token/);
  });

  it("a name re-registered elsewhere with another type or constraints is written by its new rules", async () => {
    const server = await BridgeServer.start();
    cleanups.push(() => server.close());
    const a = new RemoteState({ address: server.address });
    const b = new RemoteState({ address: server.address });
    const sa = await a.init({ sessionId: "reregistered" });
    const sb = await b.init({ sessionId: "reregistered" });
    if (!sa.ok || !sb.ok) throw new Error("init failed");
    // a learns (and caches) the rules of x and y.
    await a.registerVariable(sa.value, "x", "float", 0.5, { constraints: { max: 1 } });
    await a.registerVariable(sa.value, "y", "float", 0.5, { constraints: { max: 1 } });
    await a.registerVariable(sa.value, "z", "float", 0.5);
    expect((await a.setVariable(sa.value, "x", 0.6)).ok).toBe(true);
    expect((await a.updateVariables(sa.value, { y: 0.6, z: 0.6 })).ok).toBe(true);
    // b replaces them: x becomes a string, y a float up to 10, z an integer (3 passes the
    // float rules a remembers, so only the server can tell a that z changed).
    for (const name of ["x", "y", "z"]) {
      expect((await b.deleteVariable(sb.value, name)).ok).toBe(true);
    }
    await b.registerVariable(sb.value, "x", "string", "start");
    await b.registerVariable(sb.value, "y", "float", 0.5, { constraints: { max: 10 } });
    await b.registerVariable(sb.value, "z", "integer", 1);
    const z = await a.updateVariables(sa.value, { z: 3 });
    expect(z.ok && z.value.versions).toEqual({ z: 2 });

    const x = await a.setVariable(sa.value, "x", "hello");
    expect(x).toMatchObject({ ok: true, value: { version: 2 } });
    const y = await a.updateVariables(sa.value, { y: 5 });
    expect(y.ok && y.value.versions).toEqual({ y: 2 });
    const bx = await b.getVariable(sb.value, "x");
    const by = await b.getVariable(sb.value, "y");
    expect([bx, by]).toEqual([
      { ok: true, value: "hello" },
      { ok: true, value: 5 },
    ]);
    // The new rules are enforced as ever.
    const tooBig = await a.setVariable(sa.value, "y", 11);
    expect(!tooBig.ok && tooBig.error).toMatchObject({ code: "validation_failed", rule: "max" });
    await b.cleanup(sb.value);
    await a.cleanup(sa.value);
  });

  it("subscriptions match names exactly as the contract's globs do; the empty pattern is refused", async () => {
    const server = await BridgeServer.start();
    cleanups.push(() => server.close());
    const remote = new RemoteState({ address: server.address });
    const init = await remote.init({ sessionId: "patterns" });
    if (!init.ok) throw new Error(init.error.message);
    // "" matches no name: refused as every backend refuses it (it was "no filter" on the wire).
    const empty = await remote.subscribe(init.value, "", () => {});
    expect(!empty.ok && empty.error.code).toBe("invalid_argument");
    const heard: Record<string, string[]> = { "temp*": [], "*": [] };
    for (const pattern of Object.keys(heard)) {
      const sub = await remote.subscribe(init.value, pattern, (e) => heard[pattern]!.push(e.name));
      expect(sub.ok).toBe(true);
    }
    await remote.registerVariable(init.value, "temperature", "float", 0.5);
    await remote.registerVariable(init.value, "other", "float", 0.5);
    await until(() => heard["*"]!.length === 2, "both registrations");
    // Events for one stream arrive in order: once `*` heard both, the others had their chance.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(heard).toEqual({ "temp*": ["temperature"], "*": ["temperature", "other"] });
    await remote.cleanup(init.value);
  });

  it("a server that stops answering (SIGSTOP) costs each call its deadline, never a hang", async () => {
    const server = await startCli(["--port", "0"]);
    cleanups.push(async () => {
      await server.stop();
    });
    const { address, child, exited } = server;
    const remote = new RemoteState({ address, deadlineMs: 300 });
    const init = await remote.init({ sessionId: "hung" });
    if (!init.ok) throw new Error(init.error.message);
    await remote.registerVariable(init.value, "n", "integer", 1);
    child.kill("SIGSTOP");
    for (const [what, call] of [
      ["getVariable", () => remote.getVariable(init.value, "n")],
      ["setVariable", () => remote.setVariable(init.value, "n", 2)],
      ["subscribe", () => remote.subscribe(init.value, "*", () => {})],
    ] as const) {
      const started = Date.now();
      const answer = await call();
      expect(!answer.ok && answer.error.code, what).toBe("unavailable");
      expect(Date.now() - started, what).toBeLessThan(1_500);
    }
    const cleaning = Date.now();
    await remote.cleanup(init.value);
    expect(Date.now() - cleaning).toBeLessThan(1_500);
    child.kill("SIGCONT");
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });

  it("keepalive: a connection to a server that stops answering (SIGSTOP) is dropped within the keepalive timeout, not the call's deadline; after SIGCONT the watch resubscribes", {
    timeout: 30_000,
  }, async () => {
    const server = await startCli(["--port", "0"]);
    cleanups.push(async () => {
      await server.stop();
    });
    const { address, child, exited } = server;
    // A deadline far longer than the keepalive: only a keepalive can end the call early.
    const remote = new RemoteState({
      address,
      deadlineMs: 10_000,
      keepaliveTimeMs: 500,
      keepaliveTimeoutMs: 500,
    });
    const init = await remote.init({ sessionId: "silent" });
    if (!init.ok) throw new Error(init.error.message);
    const state = init.value;
    await remote.registerVariable(state, "n", "integer", 1);
    const events: VariableEvent[] = [];
    const sub = await remote.subscribe(state, "*", (e) => events.push(e));
    expect(sub.ok).toBe(true);
    await remote.setVariable(state, "n", 2);
    await until(() => events.some((e) => e.value === 2), "the watch to deliver");

    child.kill("SIGSTOP");
    // The call goes out on the open connection; the unanswered ping ends that connection
    // (UNAVAILABLE), where without a keepalive the call would wait out its 10 s deadline.
    const stalled = await remote.getVariable(state, "n");
    expect(!stalled.ok && stalled.error.code).toBe("unavailable");
    expect(!stalled.ok && stalled.error.message).toMatch(/\(UNAVAILABLE\)/);

    child.kill("SIGCONT");
    let written = await remote.setVariable(state, "n", 3);
    const deadline = Date.now() + 10_000;
    while (!written.ok && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      written = await remote.setVariable(state, "n", 3);
    }
    expect(written.ok).toBe(true);
    // The watch re-opened on the new connection: the write reaches the subscriber.
    await until(() => events.some((e) => e.value === 3), "the resubscribed watch", 10_000);
    await remote.cleanup(state);
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });

  it("a message grpc refuses for its size answers limit_exceeded naming maxMessageBytes and the maximum that refused it", async () => {
    const server = await BridgeServer.start({ maxMessageBytes: 64 * 1024 });
    cleanups.push(() => server.close());
    const remote = new RemoteState({ address: server.address, maxMessageBytes: 256 * 1024 });
    const init = await remote.init({ sessionId: "oversized" });
    if (!init.ok) throw new Error(init.error.message);
    const state = init.value;
    await remote.registerVariable(state, "text", "string", "small");
    // Refused by the server's grpc (no dspex-error-bin trailer): its maximum is in the details.
    const tooBigForServer = await remote.setVariable(state, "text", "x".repeat(100 * 1024));
    expect(!tooBigForServer.ok && tooBigForServer.error).toMatchObject({
      code: "limit_exceeded",
      limit: "maxMessageBytes",
      max: 64 * 1024,
    });
    // Refused by this client's grpc before sending.
    const tooBigToSend = await remote.setVariable(state, "text", "x".repeat(300 * 1024));
    expect(!tooBigToSend.ok && tooBigToSend.error).toMatchObject({
      code: "limit_exceeded",
      limit: "maxMessageBytes",
      max: 256 * 1024,
    });
    // Nothing changed, and the connection still serves.
    const record = await remote.getVariableRecord(state, "text");
    expect(record.ok && [record.value.value, record.value.version]).toEqual(["small", 1]);
    await remote.cleanup(state);
  });

  it("after a reconnect, variables deleted meanwhile are told at once (before new ones), not at the next heartbeat", async () => {
    const store = new SessionStore();
    cleanups.push(() => store.close());
    // The default heartbeat (30 s): the catch-up must not wait for one.
    let server = await BridgeServer.start({ store });
    const port = server.port;
    const remote = new RemoteState({ address: server.address, deadlineMs: 1_000 });
    const init = await remote.init({ sessionId: "deleted-meanwhile" });
    if (!init.ok) throw new Error(init.error.message);
    await remote.registerVariable(init.value, "gone", "integer", 1);
    await remote.registerVariable(init.value, "kept", "integer", 1);
    const events: VariableEvent[] = [];
    await remote.subscribe(init.value, "*", (e) => events.push(e));
    await server.close();
    store.delete("deleted-meanwhile", "gone");
    // Deleted and registered again under the same name: the deletion must be told first, or a
    // subscriber that keys by name ends up without the variable.
    store.delete("deleted-meanwhile", "kept");
    store.register("deleted-meanwhile", { name: "kept", type: "string", value: "again" });
    server = await BridgeServer.start({ store, port });
    cleanups.push(() => server.close());
    await until(() => events.length >= 3, "the catch-up", 4_000);
    expect(events.map((e) => [e.kind, e.name, e.value])).toEqual([
      ["deleted", "gone", 1],
      ["deleted", "kept", 1],
      ["registered", "kept", "again"],
    ]);
    // Told from the snapshot, not the feed: marked so a subscriber knows versions were skipped.
    expect(events.map((e) => e.resync)).toEqual([true, true, true]);
    await remote.cleanup(init.value);
  });

  it("answers unavailable (no hang) while the server is down, reconnects and resubscribes when it is back", async () => {
    const store = new SessionStore();
    cleanups.push(() => store.close());
    let server = await BridgeServer.start({ store });
    const port = server.port;
    const remote = new RemoteState({ address: server.address, deadlineMs: 1_000 });
    const init = await remote.init({ sessionId: "flaky" });
    if (!init.ok) throw new Error(init.error.message);
    const state = init.value;
    await remote.registerVariable(state, "n", "integer", 1);
    const events: VariableEvent[] = [];
    await remote.subscribe(state, "*", (e) => events.push(e));
    const patient = new RemoteState({ address: server.address, deadlineMs: 10_000 });
    const patientState = await patient.init({ sessionId: "flaky" });
    if (!patientState.ok) throw new Error(patientState.error.message);

    await server.close();
    const started = Date.now();
    const down = await remote.getVariable(state, "n");
    expect(!down.ok && down.error.code).toBe("unavailable");
    expect(Date.now() - started).toBeLessThan(1_500);
    // A new subscription is refused as promptly, with the reason, not after its 10 s deadline.
    const subscribing = Date.now();
    const refused = await patient.subscribe(patientState.value, "*", () => {});
    expect(!refused.ok && refused.error.code).toBe("unavailable");
    expect(!refused.ok && refused.error.message).toMatch(/UNAVAILABLE/);
    expect(Date.now() - subscribing).toBeLessThan(1_500);
    await patient.cleanup(patientState.value);

    // Changes made while this client cannot hear them (another writer on the same store).
    store.set("flaky", "n", 7);
    store.register("flaky", { name: "m", type: "string", value: "new" });
    server = await BridgeServer.start({ store, port });
    cleanups.push(() => server.close());
    let back = await remote.getVariable(state, "n");
    const deadline = Date.now() + 5_000;
    while (!back.ok && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      back = await remote.getVariable(state, "n");
    }
    expect(back).toEqual({ ok: true, value: 7 });
    // The re-opened watch catches the subscriber up on what changed meanwhile.
    await until(() => events.length >= 2, "the catch-up events");
    expect(events.slice(0, 2).map((e) => [e.kind, e.name, e.value, e.previousValue])).toEqual([
      ["updated", "n", 7, 1],
      ["registered", "m", "new", undefined],
    ]);
    // The watch re-opens by itself: a write made by someone else reaches the subscriber.
    const other = rawClient(server.address);
    cleanups.push(() => other.close());
    await until(
      () => {
        void unary(other, "SetVariable", {
          session_id: "flaky",
          variable_identifier: "n",
          value: any("integer", 42),
        });
        return events.some((e) => e.value === 42);
      },
      "the resubscribed watch to deliver",
      5_000,
    );
    await remote.cleanup(state);
  });
});
