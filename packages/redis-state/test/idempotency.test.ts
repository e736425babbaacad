import type { VariableEvent } from "@dspex/state-provider";
import { startRedisServer, TestProxy, type TestServer } from "@dspex/test-support";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { escapeSessionId, RedisState } from "../src/index.js";
import { COMMIT } from "../src/scripts.js";
import { codeOf, eventually, must, sleep } from "./support/results.js";

let server: TestServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(() => server.stop());

let counter = 0;
const sessionId = () => `idem_${++counter}_${Date.now()}`;
const feedOf = (id: string) => `dspex:{s:${escapeSessionId(id)}}:feed`;

/** Two providers with their own connections on one new session, `x` and `y` registered. */
async function twoProviders(aUrl = server.url, timeoutMs = 3000) {
  const id = sessionId();
  const a = new RedisState({ url: aUrl, timeoutMs });
  const b = new RedisState({ url: server.url });
  const sa = must(await a.init({ sessionId: id }));
  const sb = must(await b.init({ sessionId: id }));
  must(await b.registerVariable(sb, "x", "integer", 1));
  must(await b.registerVariable(sb, "y", "integer", 1));
  const heard: VariableEvent[] = [];
  must(await b.subscribe(sb, "*", (e) => void heard.push(e)));
  const done = async () => {
    await a.cleanup(sa);
    await b.cleanup(sb);
  };
  return { id, a, b, sa, sb, heard, done };
}

describe("a requestId retried through another provider", () => {
  test("setVariable: the first outcome, applied once, one event", async () => {
    const { id, a, b, sa, sb, heard, done } = await twoProviders();
    const written = must(await a.setVariable(sa, "x", 2, {}, { requestId: "R-set" }));
    expect(written.version).toBe(2);
    const length = await server.cli("XLEN", feedOf(id));
    // The same request again, even with another value or an expected version now stale.
    expect(must(await b.setVariable(sb, "x", 2, {}, { requestId: "R-set" })).version).toBe(2);
    expect(must(await b.setVariable(sb, "x", 99, {}, { requestId: "R-set" })).version).toBe(2);
    const stale = await b.setVariable(sb, "x", 2, {}, { requestId: "R-set", expectedVersion: 1 });
    expect(must(stale).version).toBe(2);
    expect(must(await a.setVariable(sa, "x", 2, {}, { requestId: "R-set" })).version).toBe(2);
    expect(await server.cli("XLEN", feedOf(id))).toBe(length);
    const record = must(await b.getVariableRecord(sb, "x"));
    expect([record.value, record.version]).toEqual([2, 2]);
    // A new request id is a new write; the old one still answers its own outcome.
    expect(must(await b.setVariable(sb, "x", 3, {}, { requestId: "R-next" })).version).toBe(3);
    expect(must(await a.setVariable(sa, "x", 2, {}, { requestId: "R-set" })).version).toBe(2);
    await eventually(() => heard.length === 2, "two events");
    await sleep(50);
    expect(heard.map((e) => [e.name, e.value, e.version])).toEqual([
      ["x", 2, 2],
      ["x", 3, 3],
    ]);
    await done();
  });

  test("updateVariables: the same versions, applied once", async () => {
    const { a, b, sa, sb, heard, done } = await twoProviders();
    const first = must(await a.updateVariables(sa, { x: 5, y: 6 }, {}, { requestId: "R-batch" }));
    expect(first.versions).toEqual({ x: 2, y: 2 });
    const again = must(await b.updateVariables(sb, { x: 5, y: 6 }, {}, { requestId: "R-batch" }));
    expect(again.versions).toEqual({ x: 2, y: 2 });
    const conflicting = await b.updateVariables(
      sb,
      { x: 5, y: 6 },
      {},
      { requestId: "R-batch", expectedVersions: { x: 1 } },
    );
    expect(must(conflicting).versions).toEqual({ x: 2, y: 2 });
    expect(must(await b.getVariableRecord(sb, "y")).version).toBe(2);
    await eventually(() => heard.length === 2, "the batch's two events");
    await sleep(50);
    expect(heard).toHaveLength(2);
    // The same id on another kind of call answers what that id committed (the caller's mistake).
    await done();
  });

  test("registerVariable: the same id, registered once; another name is a new registration", async () => {
    const { a, b, sa, sb, heard, done } = await twoProviders();
    const first = must(await a.registerVariable(sa, "z", "integer", 7, { requestId: "R-reg" }));
    const again = must(await b.registerVariable(sb, "z", "integer", 7, { requestId: "R-reg" }));
    expect(again.id).toBe(first.id);
    // Without the key, the same registration is what it always was.
    expect(codeOf(await b.registerVariable(sb, "z", "integer", 7))).toBe("already_exists");
    await eventually(() => heard.some((e) => e.name === "z"), "the registration");
    await sleep(50);
    expect(heard.filter((e) => e.kind === "registered" && e.name === "z")).toHaveLength(1);
    expect(codeOf(await a.registerVariable(sa, "z", "integer", 7, { requestId: "" }))).toBe(
      "invalid_argument",
    );
    await done();
  });

  test("deleteVariable: a retried deletion answers ok, deleted once", async () => {
    const { a, b, sa, sb, heard, done } = await twoProviders();
    must(await a.deleteVariable(sa, "y", { requestId: "R-del" }));
    must(await b.deleteVariable(sb, "y", { requestId: "R-del" }));
    expect(codeOf(await b.deleteVariable(sb, "y"))).toBe("not_found");
    expect(codeOf(await b.deleteVariable(sb, "y", { requestId: "R-other" }))).toBe("not_found");
    await eventually(() => heard.some((e) => e.kind === "deleted"), "the deletion");
    await sleep(50);
    expect(heard.filter((e) => e.kind === "deleted")).toHaveLength(1);
    await done();
  });

  test("after an ambiguous failure on A, the retry through B applies once", async () => {
    const proxy = await TestProxy.start(server.socket);
    try {
      const { id, a, b, sa, sb, heard, done } = await twoProviders(proxy.url, 400);
      must(await a.setVariable(sa, "x", 2)); // the commit script is loaded: EVALSHA next
      await eventually(() => heard.length === 1, "the first write");
      proxy.dropAfter(COMMIT.sha, { thenDown: true });
      const lost = await a.setVariable(sa, "x", 3, {}, { requestId: "R-lost" });
      expect(proxy.dropped).toBe(1);
      expect(codeOf(lost)).toBe("unavailable");
      if (!lost.ok) expect(lost.error.message).toMatch(/may have applied/);
      // It did apply: the retry through B answers that commit's version.
      const retried = must(await b.setVariable(sb, "x", 3, {}, { requestId: "R-lost" }));
      expect(retried.version).toBe(3);
      const record = must(await b.getVariableRecord(sb, "x"));
      expect([record.value, record.version]).toEqual([3, 3]);
      expect(await server.cli("XLEN", feedOf(id))).toBe("4");
      await eventually(() => heard.length === 2, "one event for the lost write");
      await sleep(50);
      expect(heard.map((e) => e.version)).toEqual([2, 3]);
      proxy.up();
      await done();
    } finally {
      await proxy.stop();
    }
  });

  test("kept while the commit is in the feed, then forgotten: the set stays bounded", async () => {
    await server.cli("CONFIG", "SET", "stream-node-max-entries", "1");
    try {
      const id = sessionId();
      const provider = new RedisState({ url: server.url, feedRetention: 3 });
      const state = must(await provider.init({ sessionId: id }));
      must(await provider.registerVariable(state, "x", "integer", 0));
      must(await provider.setVariable(state, "x", 1, {}, { requestId: "old" }));
      for (let v = 2; v <= 40; v++)
        must(await provider.setVariable(state, "x", v, {}, { requestId: `r${v}` }));
      // Its commit left the feed: the id is forgotten, and the same request is a new write.
      const forgotten = await provider.setVariable(state, "x", 1, {}, { requestId: "old" });
      expect(must(forgotten).version).toBe(42);
      // A retained one still answers its first outcome.
      expect(
        must(await provider.setVariable(state, "x", 0, {}, { requestId: "r40" })).version,
      ).toBe(41);
      const requests = `dspex:{s:${escapeSessionId(id)}}:rq`;
      expect(Number(await server.cli("ZCARD", requests))).toBeLessThanOrEqual(4);
      expect(Number(await server.cli("PTTL", requests))).toBeGreaterThan(0);
      expect(must(await provider.deleteSession(id))).toBe(true);
      expect(await server.cli("EXISTS", requests)).toBe("0");
      await provider.cleanup(state);
    } finally {
      await server.cli("CONFIG", "SET", "stream-node-max-entries", "100");
    }
  });
});
