import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { VariableEvent } from "@dspex/state-provider";
import { startRedisServer, type TestServer } from "@dspex/test-support";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { RedisState } from "../src/index.js";
import { codeOf, eventually, must, sleep } from "./support/results.js";

let server: TestServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(() => server.stop());

let counter = 0;
const sessionId = () => `resume_${++counter}_${Date.now()}`;
const CURSOR = /^[0-9a-f-]{36}:(\d+)-(\d+):[0-9a-f]{8}$/;

/** Commit and index of a cursor, for ordering. */
function position(cursor: string | undefined): [number, number] {
  const match = CURSOR.exec(cursor ?? "");
  if (match === null) throw new Error(`not a cursor: ${cursor}`);
  return [Number(match[1]), Number(match[2])];
}

describe("cursors", () => {
  test("every event carries a cursor, the same in every process, unique and in commit order", async () => {
    const a = new RedisState({ url: server.url });
    const b = new RedisState({ url: server.url });
    const id = sessionId();
    const sa = must(await a.init({ sessionId: id }));
    const sb = must(await b.init({ sessionId: id }));
    const heardA: VariableEvent[] = [];
    const heardB: VariableEvent[] = [];
    must(await a.subscribe(sa, "*", (e) => void heardA.push(e)));
    must(await b.subscribe(sb, "*", (e) => void heardB.push(e)));
    must(await a.registerVariable(sa, "x", "integer", 0));
    must(await b.registerVariable(sb, "y", "integer", 0));
    must(await a.setVariable(sa, "x", 1));
    must(await b.updateVariables(sb, { x: 2, y: 3 }));
    must(await a.deleteVariable(sa, "y"));
    await eventually(() => heardA.length === 6 && heardB.length === 6, "six events each");
    const cursors = heardA.map((e) => e.cursor as string);
    expect(heardB.map((e) => e.cursor)).toEqual(cursors);
    expect(new Set(cursors).size).toBe(6);
    const positions = cursors.map(position);
    expect(positions.map(([, index]) => index)).toEqual([0, 0, 0, 0, 1, 0]);
    for (let i = 1; i < positions.length; i++) {
      const [c0, i0] = positions[i - 1] as [number, number];
      const [c1, i1] = positions[i] as [number, number];
      expect(c1 > c0 || (c1 === c0 && i1 > i0)).toBe(true);
    }
    await a.cleanup(sa);
    await b.cleanup(sb);
  });
});

describe("resume", () => {
  test("hears exactly what was committed after the cursor, then live changes", async () => {
    const writer = new RedisState({ url: server.url });
    const id = sessionId();
    const state = must(await writer.init({ sessionId: id }));
    const heard: VariableEvent[] = [];
    must(await writer.subscribe(state, "*", (e) => void heard.push(e)));
    must(await writer.registerVariable(state, "x", "integer", 0));
    must(await writer.registerVariable(state, "other", "integer", 0));
    for (let v = 1; v <= 4; v++) must(await writer.setVariable(state, "x", v));
    must(await writer.updateVariables(state, { x: 5, other: 1 }));
    await eventually(() => heard.length === 8, "eight events");

    const reader = new RedisState({ url: server.url });
    const watched = must(await reader.init({ sessionId: id }));
    const resumed: VariableEvent[] = [];
    const answer = must(
      await reader.resume(watched, "x", (e) => void resumed.push(e), heard[2]?.cursor as string),
    );
    expect(answer.resumed).toBe(true);
    // After x=1 (the third event): x=2, 3, 4 and the batch's x=5; "other" is filtered out.
    expect(resumed.map((e) => e.value)).toEqual([2, 3, 4, 5]);
    expect(resumed.map((e) => e.cursor)).toEqual(
      heard
        .filter((e) => e.name === "x")
        .slice(2)
        .map((e) => e.cursor),
    );
    must(await writer.setVariable(state, "x", 6));
    await eventually(() => resumed.length === 5, "the live change");
    expect(resumed[4]?.value).toBe(6);

    // From the last cursor: nothing to replay, live ones follow.
    const atEnd: VariableEvent[] = [];
    await eventually(() => heard.length === 9, "the ninth event");
    const fromLast = must(
      await reader.resume(watched, "*", (e) => void atEnd.push(e), heard[8]?.cursor as string),
    );
    expect([fromLast.resumed, atEnd.length]).toEqual([true, 0]);
    must(await writer.setVariable(state, "x", 7));
    await eventually(() => atEnd.length === 1, "the next change");
    expect(atEnd.map((e) => e.value)).toEqual([7]);
    await writer.cleanup(state);
    await reader.cleanup(watched);
  });

  test("a cursor it cannot honour is a plain subscription; a malformed one is invalid_argument", async () => {
    await server.cli("CONFIG", "SET", "stream-node-max-entries", "1");
    try {
      const provider = new RedisState({ url: server.url, feedRetention: 2 });
      const id = sessionId();
      const state = must(await provider.init({ sessionId: id }));
      const heard: VariableEvent[] = [];
      must(await provider.subscribe(state, "*", (e) => void heard.push(e)));
      must(await provider.registerVariable(state, "x", "integer", 0));
      await eventually(() => heard.length === 1, "the registration");
      const first = heard[0]?.cursor as string;
      const rewritten = first.replace(/:[0-9a-f]{8}$/, ":00000000");
      const noop = () => {};
      // Another commit under the same number (Redis lost the one the cursor names).
      expect(must(await provider.resume(state, "*", noop, rewritten)).resumed).toBe(false);
      for (let v = 1; v <= 6; v++) must(await provider.setVariable(state, "x", v));
      // Trimmed out of the feed.
      const late: VariableEvent[] = [];
      const trimmed = must(await provider.resume(state, "*", (e) => void late.push(e), first));
      expect([trimmed.resumed, late.length]).toEqual([false, 0]);
      must(await provider.setVariable(state, "x", 7));
      await eventually(() => late.length === 1, "the live change");
      // Another epoch: the session was deleted and created anew.
      const cursor = heard.at(-1)?.cursor as string;
      must(await provider.deleteSession(id));
      const again = must(await provider.init({ sessionId: id }));
      must(await provider.registerVariable(again, "x", "integer", 0));
      expect(must(await provider.resume(again, "*", noop, cursor)).resumed).toBe(false);
      for (const bad of ["", "nonsense", `${cursor}:extra`, "e:1-x:abcd", 42]) {
        const answer = await provider.resume(again, "*", noop, bad as string);
        expect(codeOf(answer)).toBe("invalid_argument");
        if (!answer.ok) expect(answer.error.message).toMatch(/change-feed cursor/);
      }
      expect(codeOf(await provider.resume(again, "", noop, cursor))).toBe("invalid_argument");
      await provider.cleanup(state);
      await provider.cleanup(again);
      expect(codeOf(await provider.resume(again, "*", noop, cursor))).toBe("closed");
    } finally {
      await server.cli("CONFIG", "SET", "stream-node-max-entries", "100");
    }
  });

  test("resumed while another process keeps committing: no gap, no duplicate", async () => {
    const id = sessionId();
    const owner = new RedisState({ url: server.url });
    const state = must(await owner.init({ sessionId: id }));
    must(await owner.registerVariable(state, "n", "integer", 0));
    const heard: VariableEvent[] = [];
    must(await owner.subscribe(state, "*", (e) => void heard.push(e)));
    const total = 300;
    const child = fileURLToPath(new URL("./support/counter-writer.ts", import.meta.url));
    const writing = promisify(execFile)(
      process.execPath,
      ["--import", "tsx", child, server.url, id, String(total)],
      // Generous: under a loaded CI machine, starting Node with tsx alone can take seconds.
      { timeout: 40_000 },
    );
    await eventually(() => heard.length >= 30, "the writer's first commits", 30_000);
    // Resume from a change some commits back, several times while the writer goes on.
    const resumedFrom: { from: number; values: number[] }[] = [];
    const readers: RedisState[] = [];
    for (let round = 0; round < 3; round++) {
      const back = heard[heard.length - 10] as VariableEvent;
      const reader = new RedisState({ url: server.url });
      readers.push(reader);
      const watched = must(await reader.init({ sessionId: id }));
      const values: number[] = [];
      const answer = must(
        await reader.resume(
          watched,
          "*",
          (e) => void values.push(e.value as number),
          back.cursor as string,
        ),
      );
      expect(answer.resumed).toBe(true);
      resumedFrom.push({ from: back.value as number, values });
      await sleep(30);
    }
    await writing;
    for (const { from, values } of resumedFrom) {
      await eventually(() => values.at(-1) === total, `hearing up to ${total}`, 5000);
      expect(from).toBeLessThan(total - 10);
      expect(values).toEqual(Array.from({ length: total - from }, (_, i) => from + 1 + i));
    }
    expect(heard.map((e) => e.value)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    await owner.cleanup(state);
  }, 60_000);
});
