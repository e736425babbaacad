import { type ChildProcessProvider, childProcessProvider } from "@dspex/provider-tests";
import type { VariableVersion } from "@dspex/state-provider";
import { startRedisServer, type TestServer } from "@dspex/test-support";
import { createClient, RESP_TYPES } from "@redis/client";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { HISTORY_READS_PER_CALL } from "../src/history.js";
import { escapeSessionId, RedisState } from "../src/index.js";
import { HISTORY } from "../src/scripts.js";

function must<T>(
  result: { ok: true; value: T } | { ok: false; error: { code: string; message: string } },
): T {
  if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
  return result.value;
}

const versions = (entries: readonly VariableVersion[]) => entries.map((e) => e.version);
const values = (entries: readonly VariableVersion[]) => entries.map((e) => e.value);

// One stream macro node per entry: XTRIM ~ then trims exactly, so retention is predictable.
let server: TestServer;
beforeAll(async () => {
  server = await startRedisServer({ args: ["--stream-node-max-entries", "1"] });
});
afterAll(() => server.stop());

let counter = 0;
const sessionId = () => `history_test_${++counter}_${Date.now()}`;
const feedKey = (id: string) => `dspex:{s:${escapeSessionId(id)}}:feed`;

/** Script calls Redis ran so far (EVALSHA, and EVAL for a script it did not have yet). */
async function scriptCalls(): Promise<number> {
  const stats = await server.cli("INFO", "commandstats");
  let calls = 0;
  for (const match of stats.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm))
    calls += Number(match[1]);
  return calls;
}

describe("history on Redis", () => {
  test("retention: history is cut where the feed was trimmed, and every version answered is true", async () => {
    const provider = new RedisState({ url: server.url, feedRetention: 6 });
    const id = sessionId();
    const state = must(await provider.init({ sessionId: id }));
    must(await provider.registerVariable(state, "x", "integer", 0));
    must(await provider.registerVariable(state, "y", "integer", 0));
    const written = new Map<number, VariableVersion>();
    for (let i = 1; i <= 8; i++) {
      must(await provider.setVariable(state, "x", i * 10, { trial: String(i) }));
      must(await provider.setVariable(state, "y", i));
      const record = must(await provider.getVariableRecord(state, "x"));
      written.set(record.version, {
        version: record.version,
        value: record.value,
        metadata: record.metadata,
        source: record.source,
        timestamp: record.updatedAt,
      });
    }
    // The stream keeps the last 6 entries: x at versions 7, 8, 9, interleaved with y.
    expect(await server.cli("XLEN", feedKey(id))).toBe("6");
    const history = must(await provider.getVariableHistory(state, "x"));
    expect(versions(history)).toEqual([9, 8, 7]);
    expect(history).toEqual([9, 8, 7].map((v) => written.get(v)));
    expect(values(must(await provider.getVariableHistory(state, "x", { limit: 50 })))).toEqual([
      80, 70, 60,
    ]);
    // Written long ago, its entries all trimmed: the current record alone, nothing invented.
    for (let i = 9; i <= 14; i++) must(await provider.setVariable(state, "y", i));
    const alone = must(await provider.getVariableHistory(state, "x"));
    expect(alone).toEqual([written.get(9)]);
    expect(versions(must(await provider.getVariableHistory(state, "y")))).toEqual([
      15, 14, 13, 12, 11, 10,
    ]);
    await provider.cleanup(state);
  });

  test("another process's provider reads the history this one wrote, and the other way round", async () => {
    const writer = new RedisState({ url: server.url });
    const id = sessionId();
    const state = must(await writer.init({ sessionId: id }));
    must(await writer.registerVariable(state, "lr", "float", 0.1, { metadata: { step: "0" } }));
    must(await writer.setVariable(state, "lr", 0.05, { step: "1", source: "python" }));
    must(await writer.setVariable(state, "lr", 0.01, { step: "2" }));
    let child: ChildProcessProvider | undefined;
    try {
      child = await childProcessProvider({
        module: new URL("./support/provider-module.ts", import.meta.url),
        execArgv: ["--import", "tsx"],
        env: { DSPEX_REDIS_URL: server.url },
      });
      expect(child.capabilities().history).toBe(true);
      const joined = must(await child.init({ sessionId: id }));
      const historyOf = child.getVariableHistory;
      if (historyOf === undefined)
        throw new Error("the child's provider has no getVariableHistory");
      const heard = must(await historyOf.call(child, joined, "lr"));
      expect(heard).toEqual(must(await writer.getVariableHistory(state, "lr")));
      expect(heard.map((e) => [e.version, e.value, e.metadata.step, e.source])).toEqual([
        [3, 0.01, "2", "typescript"],
        [2, 0.05, "1", "python"],
        [1, 0.1, "0", "typescript"],
      ]);
      must(await child.setVariable(joined, "lr", 0.02, { step: "3", source: "elixir" }));
      const back = must(await writer.getVariableHistory(state, "lr", { limit: 2 }));
      expect(back.map((e) => [e.version, e.value, e.source])).toEqual([
        [4, 0.02, "elixir"],
        [3, 0.01, "typescript"],
      ]);
      await child.cleanup(joined);
    } finally {
      await child?.close();
      await writer.cleanup(state);
    }
  }, 15_000);

  test("limit and maxVersionsPerVariable bound the answer; a limit of one scans nothing", async () => {
    const capped = new RedisState({ url: server.url, limits: { maxVersionsPerVariable: 3 } });
    const id = sessionId();
    const state = must(await capped.init({ sessionId: id }));
    must(await capped.registerVariable(state, "n", "integer", 0));
    for (let i = 1; i <= 9; i++) must(await capped.setVariable(state, "n", i));
    expect(versions(must(await capped.getVariableHistory(state, "n")))).toEqual([10, 9, 8]);
    expect(versions(must(await capped.getVariableHistory(state, "n", { limit: 50 })))).toEqual([
      10, 9, 8,
    ]);
    expect(versions(must(await capped.getVariableHistory(state, "n", { limit: 2 })))).toEqual([
      10, 9,
    ]);
    const open = new RedisState({ url: server.url });
    const all = must(await open.init({ sessionId: id }));
    expect(versions(must(await open.getVariableHistory(all, "n", { limit: 4 })))).toEqual([
      10, 9, 8, 7,
    ]);
    expect(must(await open.getVariableHistory(all, "n"))).toHaveLength(10);
    const missing = await open.getVariableHistory(all, "absent");
    expect(missing.ok ? "ok" : missing.error.code).toBe("not_found");
    await capped.cleanup(state);
    await open.cleanup(all);
  });

  test("history reads the variable's own entries: one script call in a busy session, short calls for a long one", async () => {
    const provider = new RedisState({
      url: server.url,
      limits: { maxVersionsPerVariable: Number.POSITIVE_INFINITY },
    });
    const id = sessionId();
    const state = must(await provider.init({ sessionId: id }));
    const rareId = must(await provider.registerVariable(state, "rare", "string", "first"));
    const names = Array.from({ length: 50 }, (_, i) => `busy_${i}`);
    for (const name of names) must(await provider.registerVariable(state, name, "integer", 0));
    for (let round = 1; round <= 49; round++)
      must(await provider.updateVariables(state, Object.fromEntries(names.map((n) => [n, round]))));
    must(await provider.setVariable(state, "rare", "second"));
    // 1 + 50 + 49 × 50 + 1 entries, two of them the rare variable's.
    expect(Number(await server.cli("XLEN", feedKey(id)))).toBe(2502);
    const history = must(await provider.getVariableHistory(state, "rare"));
    expect(history.map((e) => [e.version, e.value])).toEqual([
      [2, "second"],
      [1, "first"],
    ]);
    let before = await scriptCalls();
    must(await provider.getVariableHistory(state, rareId.id));
    expect((await scriptCalls()) - before).toBe(1);
    // 1 + 2 × 600 versions (a batch naming it by name and by id writes two): more than one call.
    for (let i = 1; i <= 600; i++)
      must(await provider.updateVariables(state, { rare: `a${i}`, [rareId.id]: `b${i}` }));
    before = await scriptCalls();
    const long = must(await provider.getVariableHistory(state, "rare"));
    expect((await scriptCalls()) - before).toBe(Math.ceil(1202 / HISTORY_READS_PER_CALL));
    expect(versions(long)).toEqual(Array.from({ length: 1202 }, (_, i) => 1202 - i));
    expect(values(long).slice(0, 3)).toEqual(["b600", "a600", "b599"]);
    expect(values(long).slice(-2)).toEqual(["second", "first"]);
    await provider.cleanup(state);
  }, 15_000);

  test("a re-registered name, an id an import brought back, and an import over a variable start a history of their own", async () => {
    const provider = new RedisState({ url: server.url });
    const state = must(await provider.init({ sessionId: sessionId() }));
    must(await provider.registerVariable(state, "x", "integer", 1));
    must(await provider.setVariable(state, "x", 2));
    const exported = must(await provider.exportState(state));
    const xId = must(await provider.getVariableRecord(state, "x")).id;
    must(await provider.deleteVariable(state, "x"));
    must(await provider.registerVariable(state, "x", "integer", 100));
    expect(values(must(await provider.getVariableHistory(state, "x")))).toEqual([100]);
    must(await provider.deleteVariable(state, "x"));
    // The same id comes back with the document's record: nothing from before its deletion.
    must(await provider.importState(state, exported));
    expect(versions(must(await provider.getVariableHistory(state, xId)))).toEqual([2]);
    must(await provider.setVariable(state, "x", 3));
    must(await provider.setVariable(state, "x", 4));
    // An import over it whose version follows on (4 → 5) still starts the history again.
    const document = structuredClone(exported) as typeof exported;
    const variable = document.variables[xId] as { version: number; value: unknown };
    variable.version = 5;
    variable.value = 50;
    must(await provider.importState(state, document));
    expect(
      must(await provider.getVariableHistory(state, "x")).map((e) => [e.version, e.value]),
    ).toEqual([[5, 50]]);
    must(await provider.setVariable(state, "x", 6));
    expect(versions(must(await provider.getVariableHistory(state, "x")))).toEqual([6, 5]);
    await provider.cleanup(state);
  });

  test("a session created anew under the same id has none of the old session's history", async () => {
    const provider = new RedisState({ url: server.url });
    const id = sessionId();
    const first = must(await provider.init({ sessionId: id }));
    must(await provider.registerVariable(first, "x", "integer", 1));
    must(await provider.setVariable(first, "x", 2));
    expect(must(await provider.deleteSession(id))).toBe(true);
    const gone = await provider.getVariableHistory(first, "x");
    expect(gone.ok ? "ok" : gone.error.code).toBe("session_not_found");
    const again = must(await provider.init({ sessionId: id }));
    must(await provider.registerVariable(again, "x", "integer", 7));
    expect(must(await provider.getVariableHistory(again, "x")).map((e) => e.value)).toEqual([7]);
    await provider.cleanup(first);
    await provider.cleanup(again);
  });

  test("after Redis lost its last writes, history holds the commits that replaced them, never the lost ones", async () => {
    const provider = new RedisState({ url: server.url });
    const raw = createClient({ url: server.url }).withTypeMapping({
      [RESP_TYPES.BLOB_STRING]: Buffer,
    });
    await raw.connect();
    const id = sessionId();
    const tag = `dspex:{s:${escapeSessionId(id)}}`;
    const state = must(await provider.init({ sessionId: id }));
    try {
      must(await provider.registerVariable(state, "x", "integer", 1));
      // What a restart with AOF everysec could bring back: the session as of now.
      const saved = [
        [`${tag}:h`, await raw.sendCommand(["DUMP", `${tag}:h`])],
        [`${tag}:feed`, await raw.sendCommand(["DUMP", `${tag}:feed`])],
      ] as [string, Buffer][];
      must(await provider.setVariable(state, "x", 2));
      must(await provider.setVariable(state, "x", 3));
      for (const [key, dump] of saved)
        await raw.sendCommand(["RESTORE", key, "0", dump, "REPLACE"]);
      must(await provider.setVariable(state, "x", 20));
      must(await provider.setVariable(state, "x", 30));
      const history = must(await provider.getVariableHistory(state, "x"));
      expect(history.map((e) => [e.version, e.value])).toEqual([
        [3, 30],
        [2, 20],
        [1, 1],
      ]);
    } finally {
      await raw.close();
      await provider.cleanup(state);
    }
  });

  test("a walk continued across calls stops when its last entry was rewritten meanwhile", async () => {
    const provider = new RedisState({ url: server.url });
    const id = sessionId();
    const state = must(await provider.init({ sessionId: id }));
    must(await provider.registerVariable(state, "x", "integer", 1));
    for (const v of [2, 3, 4]) must(await provider.setVariable(state, "x", v));
    const raw = createClient({ url: server.url });
    await raw.connect();
    try {
      const keys = [`dspex:{s:${escapeSessionId(id)}}:h`, feedKey(id)];
      const run = (args: string[]) =>
        raw.sendCommand(["EVAL", HISTORY.source, "2", ...keys, ...args]) as Promise<string[]>;
      const version = (record: string) => JSON.parse(record).version as number;
      // A first call that may read two entries: it stops with where to go on from.
      const [epoch, last, request, current, ...found] = await run(["x", "10", "2", "", "", ""]);
      expect(version(current as string)).toBe(4);
      expect(found.map(version)).toEqual([4, 3]);
      expect(last).not.toBe("");
      const rest = (lastRequest: string) =>
        run(["x", "8", "10", last as string, epoch as string, lastRequest]);
      const continued = await rest(request as string);
      expect(continued[1]).toBe("");
      expect(continued.slice(4).map(version)).toEqual([2, 1]);
      // The last entry read holds another commit now (its request id differs): nothing more.
      const refused = await rest("another-request");
      expect([refused[1], refused.slice(4)]).toEqual(["", []]);
      // So does a session created anew meanwhile (another epoch).
      const renewed = await run([
        "x",
        "8",
        "10",
        last as string,
        "another-epoch",
        request as string,
      ]);
      expect([renewed[1], renewed.slice(4)]).toEqual(["", []]);
    } finally {
      await raw.close();
      await provider.cleanup(state);
    }
  });
});
