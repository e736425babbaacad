import { execFileSync } from "node:child_process";
import type { VariableEvent } from "@dspex/state-provider";
import { describe, expect, it } from "vitest";
import { SessionStore } from "../src/index.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("SessionStore", () => {
  it("expires idle sessions on access, and counts them", async () => {
    const store = new SessionStore({ sessionTtlMs: 40, sweepIntervalMs: 60_000 });
    store.createSession("idle");
    store.createSession("busy");
    for (let i = 0; i < 4; i++) {
      await sleep(20);
      expect(store.touch("busy")).toBe(true);
    }
    const idle = store.getSession("idle");
    expect(idle.ok).toBe(false);
    expect(!idle.ok && idle.error.code).toBe("session_not_found");
    expect(store.getSession("busy").ok).toBe(true);
    expect(store.stats().expirations).toBe(1);
    store.close();
  });

  it("the sweep removes expired sessions without any access and tells their watchers", async () => {
    const store = new SessionStore({ sessionTtlMs: 20, sweepIntervalMs: 10 });
    store.createSession("s");
    const ended: string[] = [];
    const listener = store.onSessionEnd("s", (reason) => ended.push(reason));
    expect(listener.ok).toBe(true);
    await sleep(80);
    expect(store.stats()).toMatchObject({ sessions: 0, expirations: 1 });
    expect(ended).toEqual(["expired"]);
    store.close();
  });

  it("pinned sessions never expire", async () => {
    const store = new SessionStore({ sessionTtlMs: 10, sweepIntervalMs: 5 });
    store.createSession("pinned", { pinned: true });
    await sleep(40);
    expect(store.getSession("pinned").ok).toBe(true);
    store.close();
  });

  it("limits: sessions, variables per session, bytes per value -> limit_exceeded naming the limit", () => {
    const store = new SessionStore({
      maxSessions: 2,
      maxVariablesPerSession: 2,
      maxValueBytes: 32,
    });
    expect(store.createSession("a").ok).toBe(true);
    expect(store.createSession("b").ok).toBe(true);
    const third = store.createSession("c");
    expect(!third.ok && third.error).toMatchObject({
      code: "limit_exceeded",
      limit: "maxSessions",
      max: 2,
    });
    expect(store.register("a", { name: "x", type: "integer", value: 1 }).ok).toBe(true);
    const big = store.register("a", { name: "s", type: "string", value: "y".repeat(40) });
    expect(!big.ok && big.error).toMatchObject({ code: "limit_exceeded", limit: "maxValueBytes" });
    expect(store.register("a", { name: "s", type: "string", value: "short" }).ok).toBe(true);
    const tooBig = store.set("a", "s", "z".repeat(40));
    expect(!tooBig.ok && tooBig.error.code).toBe("limit_exceeded");
    const s = store.get("a", "s");
    expect(s.ok && [s.value.value, s.value.version]).toEqual(["short", 1]);
    const many = store.register("a", { name: "z", type: "integer", value: 1 });
    expect(!many.ok && many.error).toMatchObject({
      code: "limit_exceeded",
      limit: "maxVariablesPerSession",
    });
    expect(store.stats()).toMatchObject({ sessions: 2, variables: 2 });
    store.close();
  });

  it("maxValueBytes measures a string as its JSON: escaped characters count in full", () => {
    const store = new SessionStore({ maxValueBytes: 100 });
    store.createSession("s");
    // 30 characters, but `"\u0001"` is 6 bytes each in JSON: 182 bytes on the wire.
    const controls = "\u0001".repeat(30);
    expect(Buffer.byteLength(JSON.stringify(controls))).toBe(182);
    const registered = store.register("s", { name: "c", type: "string", value: controls });
    expect(!registered.ok && registered.error).toMatchObject({
      code: "limit_exceeded",
      limit: "maxValueBytes",
    });
    expect(!registered.ok && registered.error.message).toMatch(/182 bytes/);
    expect(store.register("s", { name: "c", type: "string", value: "ok" }).ok).toBe(true);
    const set = store.set("s", "c", controls);
    expect(!set.ok && set.error).toMatchObject({ code: "limit_exceeded", limit: "maxValueBytes" });
    const c = store.get("s", "c");
    expect(c.ok && [c.value.value, c.value.version]).toEqual(["ok", 1]);
    store.close();
  });

  it("a new id never equals the name of an existing variable (ids resolve first: it would hide it)", () => {
    const store = new SessionStore();
    store.createSession("s");
    const first = store.register("s", { name: "first", type: "integer", value: 1 });
    if (!first.ok) throw new Error(first.error.message);
    // The id the registration after the next one would get, taken as a name by the next one.
    const upcoming = first.value.id.replace(
      /^var_([0-9a-z]+)/,
      (_, counter: string) => `var_${(Number.parseInt(counter, 36) + 2).toString(36)}`,
    );
    expect(store.register("s", { name: upcoming, type: "string", value: "by name" }).ok).toBe(true);
    const third = store.register("s", { name: "third", type: "integer", value: 3 });
    expect(third.ok && third.value.id).not.toBe(upcoming);
    const byName = store.get("s", upcoming);
    expect(byName.ok && byName.value.value).toBe("by name");
    store.close();
  });

  it("ids never repeat across stores or processes (an import replaces the variable with its id)", () => {
    const firstId = (store: SessionStore) => {
      store.createSession("s");
      const registered = store.register("s", { name: "x", type: "integer", value: 1 });
      store.close();
      if (!registered.ok) throw new Error(registered.error.message);
      return registered.value.id;
    };
    const here = [firstId(new SessionStore()), firstId(new SessionStore())];
    // A fresh process starts its counter again; only the per-process tag keeps its ids apart.
    const script = `import { SessionStore } from "./src/store/session-store.ts";
      const store = new SessionStore(); store.createSession("s");
      const r = store.register("s", { name: "x", type: "integer", value: 1 });
      console.log(r.ok ? r.value.id : r.error.message); store.close();`;
    const elsewhere = execFileSync(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", script],
      {
        cwd: new URL("..", import.meta.url),
        encoding: "utf8",
      },
    ).trim();
    expect(new Set([...here, elsewhere]).size).toBe(3);
    expect(elsewhere).toMatch(/^var_[0-9a-z]+_[0-9a-f]{6}[0-9a-z]+$/);
  });

  it("stats count operations", () => {
    const store = new SessionStore();
    store.createSession("s");
    const before = store.stats().operations;
    store.register("s", { name: "x", type: "integer", value: 1 });
    store.get("s", "x");
    store.set("s", "x", "not an integer");
    expect(store.stats().operations - before).toBe(3);
    store.close();
  });

  it("atomic batch: validates all, applies nothing on a failure; events come after the whole batch", () => {
    const store = new SessionStore();
    store.createSession("s");
    store.register("s", { name: "a", type: "integer", value: 1 });
    store.register("s", { name: "b", type: "integer", value: 1 });
    const seen: [string, number, number | undefined][] = [];
    store.subscribe("s", "*", (event: VariableEvent) => {
      // Read inside the callback: the batch must already be fully applied.
      const other = store.peekByIdentifier("s", event.name === "a" ? "b" : "a");
      seen.push([event.name, event.version, other?.version]);
    });
    const failed = store.update(
      "s",
      new Map([
        ["a", { value: 2 }],
        ["b", { value: "x" }],
      ]),
    );
    expect(!failed.ok && failed.error).toMatchObject({ code: "partial_failure", applied: [] });
    expect(seen).toEqual([]);
    const done = store.update(
      "s",
      new Map([
        ["a", { value: 2 }],
        ["b", { value: 3 }],
      ]),
    );
    expect(done.ok).toBe(true);
    expect(seen).toEqual([
      ["a", 2, 2],
      ["b", 2, 2],
    ]);
    store.close();
  });

  it("a subscriber that writes from its callback does not reorder what later subscribers hear", () => {
    const store = new SessionStore();
    store.createSession("s");
    store.register("s", { name: "n", type: "integer", value: 1 });
    // The first subscriber reacts to version 2 by writing version 3 (a derived update).
    store.subscribe("s", "*", (event) => {
      if (event.version === 2) store.set("s", "n", 100);
    });
    const heard: number[] = [];
    store.subscribe("s", "*", (event) => heard.push(event.version));
    expect(store.set("s", "n", 2).ok).toBe(true);
    expect(heard).toEqual([2, 3]);
    expect(store.get("s", "n")).toMatchObject({ ok: true, value: { value: 100, version: 3 } });
    store.close();
  });

  it("deleting a session ends its subscriptions and tells its end listeners", () => {
    const store = new SessionStore();
    store.createSession("s");
    store.register("s", { name: "x", type: "integer", value: 1 });
    const events: VariableEvent[] = [];
    store.subscribe("s", "*", (event) => events.push(event));
    const reasons: string[] = [];
    store.onSessionEnd("s", (reason) => reasons.push(reason));
    expect(store.deleteSession("s")).toEqual({ ok: true, value: 1 });
    expect(reasons).toEqual(["deleted"]);
    // Same id again: a new session, the old subscription does not hear it.
    store.createSession("s");
    store.register("s", { name: "x", type: "integer", value: 1 });
    expect(events).toEqual([]);
    store.close();
  });

  it("close ends every session and later calls answer closed", () => {
    const store = new SessionStore();
    store.createSession("s");
    const reasons: string[] = [];
    store.onSessionEnd("s", (reason) => reasons.push(reason));
    store.close();
    expect(reasons).toEqual(["closed"]);
    const after = store.get("s", "x");
    expect(!after.ok && after.error.code).toBe("closed");
  });

  it("rejects bad options with a TypeError naming the option", () => {
    expect(() => new SessionStore({ maxSessions: 0 })).toThrow(/maxSessions/);
    // Node turns a timer delay above 2^31-1 ms into 1 ms: the sweep would spin.
    expect(() => new SessionStore({ sweepIntervalMs: 2 ** 31 })).toThrow(/sweepIntervalMs/);
  });
});
