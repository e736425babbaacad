import {
  startRedisCluster,
  startRedisServer,
  type TestCluster,
  TestProxy,
  type TestServer,
} from "@dspex/test-support";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { escapeSessionId, RedisState, type RedisStateOptions } from "../src/index.js";
import { codeOf, must } from "./support/results.js";

let server: TestServer;
let cluster: TestCluster;
beforeAll(async () => {
  [server, cluster] = await Promise.all([startRedisServer(), startRedisCluster()]);
}, 30_000);
afterAll(async () => {
  await Promise.all([server?.stop(), cluster?.stop()]);
});

let counter = 0;
const unique = (what: string) => `${what}_${++counter}_${Date.now()}`;

/** The connections Redis sees, but for redis-cli's own. */
async function connections(): Promise<number> {
  return (await server.cli("CLIENT", "LIST")).split("\n").length - 1;
}

describe.each([
  [
    "standalone",
    (options: Partial<RedisStateOptions> = {}) => new RedisState({ url: server.url, ...options }),
  ],
  [
    "Cluster",
    (options: Partial<RedisStateOptions> = {}) =>
      new RedisState({ rootNodes: cluster.rootNodes, ...options }),
  ],
] as const)("session admin (%s)", (kind, provider) => {
  test("createSession: one wins a race of two providers; sessionInfo tells what it holds", async () => {
    const id = unique("created{braced}");
    const [a, b] = [provider(), provider()];
    const before = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        (i % 2 === 0 ? a : b).createSession(id, { metadata: { owner: `p${i}` } }),
      ),
    );
    const codes = answers.map(codeOf);
    expect(codes.filter((code) => code === "ok")).toHaveLength(1);
    expect(codes.filter((code) => code === "already_exists")).toHaveLength(7);
    const winner = answers.find((answer) => answer.ok);
    const created = must(winner ?? answers[0]!);
    expect(created.createdAt).toBeGreaterThanOrEqual(before);
    const loser = answers.find((answer) => !answer.ok);
    if (loser !== undefined && !loser.ok) {
      expect(loser.error.message).toBe(`session ${JSON.stringify(id)} already exists`);
    }
    const state = must(await b.joinSession(id));
    must(await b.registerVariable(state, "x", "integer", 1));
    must(await b.registerVariable(state, "y", "integer", 2));
    expect(must(await a.sessionInfo(id))).toEqual({
      id,
      metadata: created.metadata,
      createdAt: created.createdAt,
      variableCount: 2,
    });
    await b.cleanup(state);
    expect(must(await a.deleteSession(id))).toBe(true);
    expect(codeOf(await a.sessionInfo(id))).toBe("session_not_found");
  });

  test("bad arguments are named and change nothing", async () => {
    const p = provider();
    expect(codeOf(await p.createSession(""))).toBe("invalid_argument");
    const id = unique("bad");
    const badMetadata = await p.createSession(id, { metadata: { n: 1 } as never });
    expect(codeOf(badMetadata)).toBe("validation_failed");
    expect(codeOf(await p.createSession(id, 7 as never))).toBe("invalid_argument");
    expect(codeOf(await p.sessionInfo(id))).toBe("session_not_found");
    expect(codeOf(await p.sessionInfo(3 as never))).toBe("invalid_argument");
    const tooMany = await provider({ limits: { maxMetadataEntries: 1 } }).createSession(id, {
      metadata: { a: "1", b: "2" },
    });
    expect(codeOf(tooMany)).toBe("limit_exceeded");
    expect(codeOf(await p.sessionInfo(id))).toBe("session_not_found");
    for (const limit of [0, -1, 1.5, "10"]) {
      const listed = await p.listSessions({ limit: limit as number });
      expect(codeOf(listed)).toBe("invalid_argument");
      if (!listed.ok) expect(listed.error.message).toMatch(/limit as a positive integer/);
    }
  });

  test("joinSession opens only a session that exists", async () => {
    const p = provider();
    const id = unique("joined");
    expect(codeOf(await p.joinSession(id))).toBe("session_not_found");
    expect(codeOf(await p.sessionInfo(id))).toBe("session_not_found");
    must(await p.createSession(id));
    const state = must(await p.joinSession(id));
    must(await p.registerVariable(state, "x", "integer", 1));
    must(await p.deleteSession(id));
    // Its writes do not bring the session back.
    expect(codeOf(await p.setVariable(state, "x", 2))).toBe("session_not_found");
    expect(codeOf(await p.sessionInfo(id))).toBe("session_not_found");
    await p.cleanup(state);
  });

  test("listSessions scans every master, bounded by limit, under its own key prefix", async () => {
    const keyPrefix = `${unique("list")}*:`; // a glob character in the prefix is matched literally
    const p = provider({ keyPrefix });
    const other = provider({ keyPrefix: keyPrefix.replace("*", "x") });
    const ids = Array.from({ length: 30 }, (_, i) => `s${i}{%}`);
    for (const id of ids) must(await p.createSession(id, { metadata: { i: id } }));
    must(await other.createSession("not-listed"));
    const all = must(await p.listSessions());
    expect(all.truncated).toBe(false);
    expect(all.sessions.map((s) => s.id).sort()).toEqual([...ids].sort());
    for (const info of all.sessions) {
      expect(info.metadata).toEqual({ i: info.id });
      expect(info.variableCount).toBe(0);
      expect(info.createdAt).toBeGreaterThan(0);
    }
    const some = must(await p.listSessions({ limit: 7 }));
    expect(some.sessions).toHaveLength(7);
    expect(some.truncated).toBe(true);
    expect(must(await other.listSessions()).sessions.map((s) => s.id)).toEqual(["not-listed"]);
  });

  test("ping answers from every master", async () => {
    const p = provider();
    const answer = must(await p.ping());
    expect(answer.masters).toBe(kind === "Cluster" ? 3 : 1);
    expect(answer.roundTripMs).toBeGreaterThanOrEqual(0);
    expect(answer.roundTripMs).toBeLessThan(1000);
  });
});

describe("session admin (standalone only)", () => {
  test("a session made before createdAt was recorded answers 0", async () => {
    const p = new RedisState({ url: server.url });
    const id = unique("old");
    must(await p.createSession(id));
    await server.cli("HDEL", `dspex:{s:${escapeSessionId(id)}}:h`, "createdAt");
    expect(must(await p.sessionInfo(id)).createdAt).toBe(0);
  });

  test("ping answers unavailable within timeoutMs when Redis does not answer, ok once it does", async () => {
    const proxy = await TestProxy.start(server.socket);
    const p = new RedisState({ url: proxy.url, timeoutMs: 300 });
    const release = must(await p.acquire());
    try {
      must(await p.ping());
      proxy.down();
      const started = Date.now();
      const down = await p.ping();
      expect(Date.now() - started).toBeLessThan(800);
      expect(codeOf(down)).toBe("unavailable");
      if (!down.ok) expect(down.error.message).toMatch(/did not answer PING/);
      proxy.up();
      let back = false;
      for (let i = 0; i < 40 && !back; i++) {
        back = (await p.ping()).ok;
        if (!back) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(back).toBe(true);
    } finally {
      await release();
      await proxy.stop();
    }
    const unreachable = new RedisState({ url: `unix://${server.dir}/none.sock`, timeoutMs: 300 });
    expect(codeOf(await unreachable.ping())).toBe("unavailable");
  });

  test("acquire holds the connection past the last cleanup, until its release", async () => {
    const base = await connections();
    const p = new RedisState({ url: server.url });
    const release = must(await p.acquire());
    expect(await connections()).toBe(base + 1);
    const state = must(await p.init({ sessionId: unique("held") }));
    must(await p.registerVariable(state, "x", "integer", 1));
    await p.cleanup(state);
    expect(await connections()).toBe(base + 1);
    must(await p.ping());
    await release();
    await release(); // idempotent: the count of holders is not taken down twice
    expect(await connections()).toBe(base);
    const unreachable = new RedisState({ url: `unix://${server.dir}/none.sock`, timeoutMs: 300 });
    expect(codeOf(await unreachable.acquire())).toBe("unavailable");
  });
});
