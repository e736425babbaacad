import { execFile } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { VariableEvent } from "@dspex/state-provider";
import { startRedisServer, TestProxy, type TestServer } from "@dspex/test-support";
import { createClient, RESP_TYPES } from "@redis/client";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { escapeSessionId, RedisState, type RedisVariableEvent } from "../src/index.js";
import { COMMIT } from "../src/scripts.js";
import { eventually, must, sleep } from "./support/results.js";

let server: TestServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(() => server.stop());

let counter = 0;
const sessionId = () => `redis_test_${++counter}_${Date.now()}`;

describe("RedisState", () => {
  test("options name exactly one way to Redis", () => {
    expect(() => new RedisState({})).toThrow(/exactly one of url, client, rootNodes or cluster/);
    expect(() => new RedisState({ url: "redis://a", rootNodes: ["redis://b"] })).toThrow(
      /got url, rootNodes/,
    );
    expect(() => new RedisState({ url: "redis://a", timeoutMs: 0 })).toThrow(/timeoutMs/);
  });

  test("every key of a session carries its escaped hash tag, braces and all", async () => {
    expect(escapeSessionId("a{b}%c")).toBe("a%7Bb%7D%25c");
    const provider = new RedisState({ url: server.url });
    const id = `brace{${counter++}}%`;
    const state = must(await provider.init({ sessionId: id }));
    must(await provider.registerVariable(state, "x", "integer", 1));
    const keys = (await server.cli("--scan", "--pattern", `*${escapeSessionId(id)}*`)).split("\n");
    const tag = `{s:${escapeSessionId(id)}}`;
    expect(keys.sort()).toEqual([`dspex:${tag}:feed`, `dspex:${tag}:h`]);
    await provider.cleanup(state);
  });

  test("a write Redis refuses for lack of memory answers limit_exceeded and applies nothing", async () => {
    const provider = new RedisState({ url: server.url });
    const state = must(await provider.init({ sessionId: sessionId() }));
    must(await provider.registerVariable(state, "x", "integer", 1));
    const before = must(await provider.exportState(state));
    await server.cli("CONFIG", "SET", "maxmemory", "1");
    try {
      const set = await provider.setVariable(state, "x", 2);
      expect(set.ok ? "ok" : set.error.code).toBe("limit_exceeded");
      const batch = await provider.updateVariables(state, { x: 3 });
      expect(batch.ok ? "ok" : batch.error.code).toBe("limit_exceeded");
      const registered = await provider.registerVariable(state, "y", "integer", 1);
      expect(registered.ok ? "ok" : registered.error.code).toBe("limit_exceeded");
      if (!set.ok) expect(set.error.message).toMatch(/out of memory.*nothing was applied/);
    } finally {
      await server.cli("CONFIG", "SET", "maxmemory", "0");
    }
    const after = must(await provider.exportState(state));
    expect(after.variables).toEqual(before.variables);
    expect(must(await provider.getVariableRecord(state, "x")).version).toBe(1);
    const feed = `dspex:{s:${escapeSessionId(state.sessionId)}}:feed`;
    expect(await server.cli("XLEN", feed)).toBe("1");
    await provider.cleanup(state);
  });

  test("a commit whose answer was lost is retried with its request id and applies once", async () => {
    const proxy = await TestProxy.start(server.socket);
    const provider = new RedisState({ url: proxy.url, timeoutMs: 3000 });
    try {
      const state = must(await provider.init({ sessionId: sessionId() }));
      must(await provider.registerVariable(state, "x", "integer", 1));
      must(await provider.setVariable(state, "x", 2)); // the commit script is loaded: EVALSHA next
      proxy.dropAfter(COMMIT.sha);
      const written = must(await provider.setVariable(state, "x", 3));
      expect(proxy.dropped).toBe(1);
      expect(written.version).toBe(3);
      const record = must(await provider.getVariableRecord(state, "x"));
      expect([record.value, record.version]).toEqual([3, 3]);
      const feed = `dspex:{s:${escapeSessionId(state.sessionId)}}:feed`;
      expect(await server.cli("XLEN", feed)).toBe("3");
      await provider.cleanup(state);
    } finally {
      await proxy.stop();
    }
  });

  test("a commit cut off before it reached Redis is sent again and applies once", async () => {
    const proxy = await TestProxy.start(server.socket);
    const provider = new RedisState({ url: proxy.url, timeoutMs: 3000 });
    try {
      const state = must(await provider.init({ sessionId: sessionId() }));
      must(await provider.registerVariable(state, "x", "integer", 1));
      must(await provider.setVariable(state, "x", 2));
      proxy.dropBefore(COMMIT.sha);
      expect(must(await provider.updateVariables(state, { x: 3 }))).toEqual({
        state,
        versions: { x: 3 },
      });
      expect(proxy.dropped).toBe(1);
      const record = must(await provider.getVariableRecord(state, "x"));
      expect([record.value, record.version]).toEqual([3, 3]);
      await provider.cleanup(state);
    } finally {
      await proxy.stop();
    }
  });

  test("a name another process re-registered is read fresh, not from what this one learned", async () => {
    const a = new RedisState({ url: server.url });
    const b = new RedisState({ url: server.url });
    const id = sessionId();
    const sa = must(await a.init({ sessionId: id }));
    const sb = must(await b.init({ sessionId: id }));
    const first = must(await a.registerVariable(sa, "x", "integer", 1)).id;
    expect(must(await b.getVariable(sb, "x"))).toBe(1);
    expect(must(await b.getVariable(sb, "x"))).toBe(1); // now by what b learned of "x"
    must(await a.deleteVariable(sa, "x"));
    const second = must(await a.registerVariable(sa, "x", "string", "s")).id;
    expect(second).not.toBe(first);
    expect(must(await b.getVariable(sb, "x"))).toBe("s");
    expect(must(await b.getVariableRecord(sb, "x")).id).toBe(second);
    must(await b.setVariable(sb, "x", "t"));
    expect(must(await a.getVariable(sa, "x"))).toBe("t");
    const old = await b.getVariable(sb, first);
    expect(old.ok ? "ok" : old.error.code).toBe("not_found");
    await a.cleanup(sa);
    await b.cleanup(sb);
  });

  test("maxVariablesPerSession holds across providers registering at once", async () => {
    const limits = { maxVariablesPerSession: 5 };
    const a = new RedisState({ url: server.url, limits });
    const b = new RedisState({ url: server.url, limits });
    const id = sessionId();
    const sa = must(await a.init({ sessionId: id }));
    const sb = must(await b.init({ sessionId: id }));
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        i % 2 === 0
          ? a.registerVariable(sa, `a${i}`, "integer", i)
          : b.registerVariable(sb, `b${i}`, "integer", i),
      ),
    );
    const codes = answers.map((r) => (r.ok ? "ok" : r.error.code));
    expect(codes.filter((c) => c === "ok")).toHaveLength(5);
    expect(codes.filter((c) => c === "limit_exceeded")).toHaveLength(7);
    expect(must(await a.listVariables(sa))).toHaveLength(5);
    await a.cleanup(sa);
    await b.cleanup(sb);
  });

  test("cleanup lets a session go; deleteSession ends it, for every holder", async () => {
    const writer = new RedisState({ url: server.url });
    const other = new RedisState({ url: server.url });
    const id = sessionId();
    const state = must(await writer.init({ sessionId: id }));
    must(await writer.registerVariable(state, "kept", "string", "yes"));
    await writer.cleanup(state);
    const joined = must(await other.init({ sessionId: id }));
    expect(must(await other.getVariable(joined, "kept"))).toBe("yes");
    expect(must(await writer.deleteSession(id))).toBe(true);
    expect(must(await writer.deleteSession(id))).toBe(false);
    const gone = await other.getVariable(joined, "kept");
    expect(gone.ok ? "ok" : gone.error.code).toBe("session_not_found");
    await other.cleanup(joined);
  });

  test("a compare-and-set against a version another process wrote is planned from Redis, not from what this one last saw", async () => {
    const a = new RedisState({ url: server.url });
    const b = new RedisState({ url: server.url });
    const id = sessionId();
    const sa = must(await a.init({ sessionId: id }));
    must(await a.registerVariable(sa, "x", "integer", 1));
    must(await a.getVariable(sa, "x"));
    const sb = must(await b.init({ sessionId: id }));
    expect(must(await b.setVariable(sb, "x", 2)).version).toBe(2);
    // A last saw version 1; the expectation of version 2 is right and must hold.
    expect(must(await a.setVariable(sa, "x", 3, undefined, { expectedVersion: 2 })).version).toBe(
      3,
    );
    const stale = await a.setVariable(sa, "x", 4, undefined, { expectedVersion: 2 });
    expect(stale.ok ? "ok" : stale.error).toMatchObject({
      code: "version_conflict",
      actualVersion: 3,
    });
    expect(must(await b.getVariable(sb, "x"))).toBe(3);
    await a.cleanup(sa);
    await b.cleanup(sb);
  });

  test("onSessionEnd tells a subscribed holder once another process deletes the session", async () => {
    const holder = new RedisState({ url: server.url, feedPollMs: 60_000 });
    const other = new RedisState({ url: server.url });
    const id = sessionId();
    const state = must(await holder.init({ sessionId: id }));
    let ends = 0;
    // Not subscribed yet: nothing notices, so nothing is registered.
    holder.onSessionEnd(state, () => ends++)();
    must(await holder.subscribe(state, "*", () => {}));
    const stop = holder.onSessionEnd(state, () => ends++);
    const stopped = holder.onSessionEnd(state, () => (ends += 100));
    stopped();
    expect(must(await other.deleteSession(id))).toBe(true);
    // The deletion's doorbell, not the (here one-minute) poll.
    await eventually(() => ends === 1, "the end listener", 3000);
    await sleep(50);
    expect(ends).toBe(1);
    stop();
    await holder.cleanup(state);
  });

  test("a session idle for its TTL is expired by Redis", async () => {
    const provider = new RedisState({ url: server.url, ttlMs: 300 });
    const id = sessionId();
    const state = must(await provider.init({ sessionId: id }));
    must(await provider.registerVariable(state, "x", "integer", 1));
    const ttl = Number(await server.cli("PTTL", `dspex:{s:${escapeSessionId(id)}}:h`));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(300);
    await sleep(450);
    const read = await provider.getVariable(state, "x");
    expect(read.ok ? "ok" : read.error.code).toBe("session_not_found");
    expect(await server.cli("--scan", "--pattern", `*${escapeSessionId(id)}*:[hf]*`)).toBe("");
    await provider.cleanup(state);
  });

  test("Redis unreachable at init answers unavailable within the deadline", async () => {
    const provider = new RedisState({ url: `unix://${server.dir}/nothing.sock`, timeoutMs: 400 });
    const started = Date.now();
    const init = await provider.init({ sessionId: sessionId() });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(init.ok ? "ok" : init.error.code).toBe("unavailable");
    if (!init.ok) expect(init.error.message).toMatch(/could not reach Redis at unix:/);
  });

  test("a Cluster unreachable at init answers unavailable within the deadline", async () => {
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const provider = new RedisState({ rootNodes: [`redis://127.0.0.1:${closed}`], timeoutMs: 400 });
    const started = Date.now();
    const init = await provider.init({ sessionId: sessionId() });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(init.ok ? "ok" : init.error.code).toBe("unavailable");
    if (!init.ok) expect(init.error.message).toMatch(/the Cluster at redis:\/\/127\.0\.0\.1/);
  });

  test("Redis unreachable during a call answers unavailable within the deadline, then recovers", async () => {
    const proxy = await TestProxy.start(server.socket);
    const provider = new RedisState({ url: proxy.url, timeoutMs: 400 });
    try {
      const state = must(await provider.init({ sessionId: sessionId() }));
      must(await provider.registerVariable(state, "x", "integer", 1));
      proxy.down();
      for (const call of [
        () => provider.getVariable(state, "x"),
        () => provider.setVariable(state, "x", 2),
        () => provider.listVariables(state),
      ]) {
        const started = Date.now();
        const answer = await call();
        expect(Date.now() - started).toBeLessThan(900);
        expect(answer.ok ? "ok" : answer.error.code).toBe("unavailable");
      }
      proxy.up();
      let value: unknown;
      for (let i = 0; i < 20 && value === undefined; i++) {
        const read = await provider.getVariable(state, "x");
        if (read.ok) value = read.value;
      }
      expect(value).toBe(1);
      expect(must(await provider.setVariable(state, "x", 5)).version).toBe(2);
      await provider.cleanup(state);
    } finally {
      await proxy.stop();
    }
  });

  test("calls in flight when the last cleanup closes the connection answer at once, not at the deadline", async () => {
    const provider = new RedisState({ url: server.url, timeoutMs: 5000 });
    const state = must(await provider.init({ sessionId: sessionId() }));
    const started = Date.now();
    const inFlight = Array.from({ length: 8 }, (_, i) =>
      provider.registerVariable(state, `v${i}`, "integer", i),
    );
    await provider.cleanup(state);
    const answers = await Promise.all(inFlight);
    expect(Date.now() - started).toBeLessThan(1500);
    for (const answer of answers)
      expect(answer.ok ? "ok" : answer.error.code).toMatch(/^(ok|unavailable)$/);
  });

  test("a client passed in stays open after the last cleanup; one not connected is named", async () => {
    const client = createClient({ url: server.url });
    const early = await new RedisState({ client: client as never }).init({
      sessionId: sessionId(),
    });
    expect(early.ok ? "ok" : early.error.message).toMatch(
      /client given to RedisState is not connected/,
    );
    await client.connect();
    try {
      const provider = new RedisState({ client: client as never });
      const state = must(await provider.init({ sessionId: sessionId() }));
      must(await provider.subscribe(state, "*", () => {}));
      must(await provider.registerVariable(state, "x", "integer", 1));
      await provider.cleanup(state);
      expect(client.isReady).toBe(true);
      expect(await client.sendCommand(["PING"])).toBe("PONG");
    } finally {
      await client.close();
    }
  });
});

describe("change feed", () => {
  test("a watcher cut off while others write catches up exactly, in commit order", async () => {
    const proxy = await TestProxy.start(server.socket);
    const watcher = new RedisState({ url: proxy.url, feedPollMs: 60_000 });
    const writer = new RedisState({ url: server.url });
    try {
      const id = sessionId();
      const watched = must(await watcher.init({ sessionId: id }));
      const heard: RedisVariableEvent[] = [];
      must(await watcher.subscribe(watched, "*", (e) => void heard.push(e)));
      const written = must(await writer.init({ sessionId: id }));
      must(await writer.registerVariable(written, "a", "integer", 0));
      await eventually(() => heard.length === 1, "the first event");
      proxy.down();
      for (let i = 1; i <= 5; i++) must(await writer.setVariable(written, "a", i));
      must(await writer.updateVariables(written, { a: 6 }));
      must(await writer.deleteVariable(written, "a"));
      proxy.up(); // the subscriber connection comes back and reads from its cursor
      await eventually(() => heard.length === 8, `8 events (heard ${heard.length})`, 5000);
      expect(heard.map((e) => [e.kind, e.version, e.value])).toEqual([
        ["registered", 1, 0],
        ...[1, 2, 3, 4, 5, 6].map((v) => ["updated", v + 1, v]),
        ["deleted", 7, 6],
      ]);
      expect(heard.map((e) => e.previousValue)).toEqual([undefined, 0, 1, 2, 3, 4, 5, 6]);
      expect(heard.some((e) => e.resync)).toBe(false);
      await writer.cleanup(written);
      await watcher.cleanup(watched);
    } finally {
      await proxy.stop();
    }
  });

  test("a watcher whose history was trimmed gets the minimal catch-up, marked resync", async () => {
    await server.cli("CONFIG", "SET", "stream-node-max-entries", "1");
    const proxy = await TestProxy.start(server.socket);
    const watcher = new RedisState({ url: proxy.url, feedPollMs: 60_000 });
    const writer = new RedisState({ url: server.url, feedRetention: 2 });
    try {
      const id = sessionId();
      const watched = must(await watcher.init({ sessionId: id }));
      const heard: RedisVariableEvent[] = [];
      must(await watcher.subscribe(watched, "*", (e) => void heard.push(e)));
      const written = must(await writer.init({ sessionId: id }));
      for (const name of ["kept", "changed", "removed"])
        must(await writer.registerVariable(written, name, "integer", 0));
      await eventually(() => heard.length === 3, "three registrations");
      proxy.down();
      for (let i = 1; i <= 5; i++) must(await writer.setVariable(written, "changed", i));
      must(await writer.deleteVariable(written, "removed"));
      must(await writer.registerVariable(written, "added", "string", "new"));
      must(await writer.setVariable(written, "added", "newer"));
      proxy.up();
      await eventually(() => heard.length >= 6, `the catch-up (heard ${heard.length})`, 5000);
      await sleep(50);
      const catchUp = heard.slice(3);
      expect(catchUp.map((e) => [e.kind, e.name, e.value, e.resync])).toEqual([
        ["deleted", "removed", 0, true],
        ["updated", "changed", 5, true],
        ["registered", "added", "newer", true],
      ]);
      expect(catchUp[1]?.previousValue).toBe(0);
      // A resync's events stand where the snapshot did: after the last commit, in one cursor.
      expect(new Set(catchUp.map((e) => e.cursor)).size).toBe(1);
      expect(catchUp[0]?.cursor).toMatch(/^[0-9a-f-]{36}:11-0:[0-9a-f]{8}$/);
      expect(catchUp[1]?.version).toBe(6);
      // After the resync the watcher follows the stream again, exactly.
      must(await writer.setVariable(written, "kept", 9));
      await eventually(() => heard.length === 7, "the next change");
      expect([heard[6]?.name, heard[6]?.value, heard[6]?.resync]).toEqual(["kept", 9, undefined]);
      await writer.cleanup(written);
      await watcher.cleanup(watched);
    } finally {
      await proxy.stop();
      await server.cli("CONFIG", "SET", "stream-node-max-entries", "100");
    }
  });

  test("a history rewritten under a watcher (Redis lost its last writes) is resynced, not skipped", async () => {
    const proxy = await TestProxy.start(server.socket);
    const watcher = new RedisState({ url: proxy.url, feedPollMs: 60_000 });
    const writer = new RedisState({ url: server.url });
    const raw = createClient({ url: server.url }).withTypeMapping({
      [RESP_TYPES.BLOB_STRING]: Buffer,
    });
    await raw.connect();
    try {
      const id = sessionId();
      const tag = `dspex:{s:${escapeSessionId(id)}}`;
      const watched = must(await watcher.init({ sessionId: id }));
      const heard: RedisVariableEvent[] = [];
      must(await watcher.subscribe(watched, "*", (e) => void heard.push(e)));
      const written = must(await writer.init({ sessionId: id }));
      must(await writer.registerVariable(written, "x", "integer", 1));
      // What a restart with AOF everysec could bring back: the session as of now.
      const saved = [
        [`${tag}:h`, await raw.sendCommand(["DUMP", `${tag}:h`])],
        [`${tag}:feed`, await raw.sendCommand(["DUMP", `${tag}:feed`])],
      ] as [string, Buffer][];
      must(await writer.setVariable(written, "x", 2));
      must(await writer.setVariable(written, "x", 3));
      await eventually(() => heard.length === 3, "three events");
      proxy.down();
      for (const [key, dump] of saved)
        await raw.sendCommand(["RESTORE", key, "0", dump, "REPLACE"]);
      // New commits reuse the lost commits' numbers, with other contents.
      const fresh = new RedisState({ url: server.url });
      const again = must(await fresh.init({ sessionId: id }));
      must(await fresh.setVariable(again, "x", 20));
      must(await fresh.setVariable(again, "x", 30));
      proxy.up();
      await eventually(() => heard.length >= 4, `the catch-up (heard ${heard.length})`, 3000);
      await sleep(50);
      expect(heard.slice(3).map((e) => [e.kind, e.value, e.previousValue, e.resync])).toEqual([
        ["updated", 30, 3, true],
      ]);
      await fresh.cleanup(again);
      await writer.cleanup(written);
      await watcher.cleanup(watched);
    } finally {
      await raw.close();
      await proxy.stop();
    }
  });

  test("a session deleted while watched goes quiet; created anew, watchers resync to it", async () => {
    // No polling: only doorbells wake the watcher, so it cannot look between init and register.
    const watcher = new RedisState({ url: server.url, feedPollMs: 60_000 });
    const writer = new RedisState({ url: server.url });
    const id = sessionId();
    const watched = must(await watcher.init({ sessionId: id }));
    const heard: RedisVariableEvent[] = [];
    must(await watcher.subscribe(watched, "*", (e) => void heard.push(e)));
    const first = must(await writer.init({ sessionId: id }));
    must(await writer.registerVariable(first, "old", "integer", 1));
    await eventually(() => heard.length === 1, "the registration");
    expect(must(await writer.deleteSession(id))).toBe(true);
    await sleep(50);
    const gone = await watcher.getVariable(watched, "old");
    expect(gone.ok ? "ok" : gone.error.code).toBe("session_not_found");
    expect(heard).toHaveLength(1);
    const again = must(await writer.init({ sessionId: id }));
    must(await writer.registerVariable(again, "new", "string", "v"));
    await eventually(() => heard.length === 2, "the new session's variable");
    expect([heard[1]?.kind, heard[1]?.name, heard[1]?.resync]).toEqual(["registered", "new", true]);
    must(await writer.setVariable(again, "new", "w"));
    await eventually(() => heard.length === 3, "the next change, from the stream");
    expect([heard[2]?.kind, heard[2]?.value, heard[2]?.resync]).toEqual([
      "updated",
      "w",
      undefined,
    ]);
    await writer.cleanup(again);
    await writer.cleanup(first);
    await watcher.cleanup(watched);
  });

  test("events carry the committed record, heard in one order by the writer's process too", async () => {
    const a = new RedisState({ url: server.url });
    const b = new RedisState({ url: server.url });
    const id = sessionId();
    const sa = must(await a.init({ sessionId: id }));
    const sb = must(await b.init({ sessionId: id }));
    const heardA: VariableEvent[] = [];
    const heardB: VariableEvent[] = [];
    must(await a.subscribe(sa, "*", (e) => void heardA.push(e)));
    must(await b.subscribe(sb, "*", (e) => void heardB.push(e)));
    must(await a.registerVariable(sa, "n", "integer", 0));
    // Interleaved writers: both hear the same order, the commit order.
    await Promise.all([
      ...[1, 2, 3].map((v) => a.setVariable(sa, "n", v)),
      ...[4, 5, 6].map((v) => b.setVariable(sb, "n", v)),
    ]);
    await eventually(() => heardA.length === 7 && heardB.length === 7, "7 events each");
    expect(heardA.map((e) => e.version)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(heardA.map((e) => e.value)).toEqual(heardB.map((e) => e.value));
    const last = heardA[6] as VariableEvent;
    expect(last.record).toEqual(must(await b.getVariableRecord(sb, "n")));
    await a.cleanup(sa);
    await b.cleanup(sb);
  });
});

describe("another process", () => {
  test("shares the session both ways, and exits by itself after its cleanup", async () => {
    const provider = new RedisState({ url: server.url });
    const id = sessionId();
    const state = must(await provider.init({ sessionId: id }));
    const heard: VariableEvent[] = [];
    must(await provider.subscribe(state, "*", (e) => void heard.push(e)));
    const child = fileURLToPath(new URL("./support/writer-process.ts", import.meta.url));
    // The child exits by itself only if its provider closed every connection at cleanup.
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", child, server.url, id],
      { timeout: 8000 },
    );
    expect(JSON.parse(stdout).heard).toEqual([1, 2, 3]);
    await eventually(() => heard.length === 3, "the child's three changes");
    expect(heard.map((e) => [e.kind, e.name, e.value, e.version])).toEqual([
      ["registered", "from_child", 1, 1],
      ["updated", "from_child", 2, 2],
      ["updated", "from_child", 3, 3],
    ]);
    expect(must(await provider.getVariable(state, "from_child"))).toBe(3);
    await provider.cleanup(state);
  }, 10_000);
});

describe("servers configured otherwise", () => {
  test("an eviction policy that could drop part of a session is refused at start, by name", async () => {
    const lru = await startRedisServer({ args: ["--maxmemory-policy", "allkeys-lru"] });
    try {
      const provider = new RedisState({ url: lru.url });
      const init = await provider.init({ sessionId: sessionId() });
      expect(init.ok ? "ok" : init.error.code).toBe("unsupported");
      if (!init.ok) expect(init.error.message).toMatch(/maxmemory-policy allkeys-lru.*noeviction/);
      await lru.cli("CONFIG", "SET", "maxmemory-policy", "volatile-ttl");
      const again = await provider.init({ sessionId: sessionId() });
      if (!again.ok) expect(again.error.message).toMatch(/maxmemory-policy volatile-ttl/);
      expect(again.ok).toBe(false);
    } finally {
      await lru.stop();
    }
  });

  test("with AOF, a session survives a restart of Redis and of the provider", async () => {
    const durable = await startRedisServer({
      args: ["--appendonly", "yes", "--appendfsync", "always"],
    });
    try {
      const id = sessionId();
      const first = new RedisState({ url: durable.url });
      const state = must(await first.init({ sessionId: id, metadata: { run: "7" } }));
      must(await first.registerVariable(state, "lr", "float", 0.1, { constraints: { min: 0 } }));
      must(await first.setVariable(state, "lr", 0.2));
      const before = must(await first.exportState(state));
      await first.cleanup(state);
      await durable.kill();
      await durable.restart();
      const second = new RedisState({ url: durable.url });
      const reopened = must(await second.init({ sessionId: id }));
      const after = must(await second.exportState(reopened));
      expect(after.variables).toEqual(before.variables);
      expect(after.metadata).toEqual({ run: "7" });
      expect(must(await second.setVariable(reopened, "lr", 0.3)).version).toBe(3);
      await second.cleanup(reopened);
    } finally {
      await durable.stop();
    }
  });

  test("Redis killed mid-writes and restarted: clients and watchers recover by themselves", async () => {
    const durable = await startRedisServer({
      args: ["--appendonly", "yes", "--appendfsync", "always"],
    });
    try {
      const id = sessionId();
      const writer = new RedisState({ url: durable.url, timeoutMs: 300 });
      const watcher = new RedisState({ url: durable.url, feedPollMs: 200 });
      const state = must(await writer.init({ sessionId: id }));
      const watched = must(await watcher.init({ sessionId: id }));
      const heard: number[] = [];
      must(await watcher.subscribe(watched, "*", (e) => void heard.push(e.value as number)));
      must(await writer.registerVariable(state, "step", "integer", 0));
      const answers: string[] = [];
      let restarted = false;
      let okAfterRestart = 0;
      const writes = (async () => {
        for (let i = 1; okAfterRestart < 5 && i < 500; i++) {
          const started = Date.now();
          const answer = await writer.setVariable(state, "step", i);
          expect(Date.now() - started).toBeLessThan(800);
          answers.push(answer.ok ? "ok" : answer.error.code);
          if (answer.ok && restarted) okAfterRestart++;
          if (!answer.ok) await sleep(20);
        }
      })();
      await sleep(100);
      await durable.kill();
      await sleep(500);
      await durable.restart();
      restarted = true;
      await writes;
      expect(new Set(answers)).toEqual(new Set(["ok", "unavailable"]));
      expect(okAfterRestart).toBe(5);
      const final = must(await writer.getVariableRecord(state, "step"));
      const oks = answers.filter((a) => a === "ok").length;
      // At most once: every ok applied; an unanswered write may or may not have.
      expect(final.version).toBeGreaterThanOrEqual(1 + oks);
      expect(final.version).toBeLessThanOrEqual(1 + answers.length);
      await eventually(
        () => heard.at(-1) === final.value,
        "the watcher hears the last write",
        5000,
      );
      await writer.cleanup(state);
      await watcher.cleanup(watched);
    } finally {
      await durable.stop();
    }
  }, 15_000);
});
