import type * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BridgeServer, SessionStore } from "../src/index.js";
import { MEMORY_FEED_RETENTION } from "../src/store/memory-bridge-store.js";
import type { BridgeServiceClient } from "../src/wire/generated/snakepit/bridge/BridgeService.js";
import type { VariableUpdate__Output } from "../src/wire/generated/snakepit/bridge/VariableUpdate.js";
import {
  any,
  collectWatch,
  expectRetriedRegisterAndDeleteApplyOnce,
  rawClient,
  sessionWithT,
  unary,
  until,
} from "./helpers.js";

/*
 * Two bridges on one store, over the raw wire: what a client moving from one to the other relies
 * on. Watches resume from a cursor heard on the other bridge, and a write retried with its
 * request id through the other bridge applies once.
 */

let store: SessionStore;
let a: BridgeServer;
let b: BridgeServer;
let onA: BridgeServiceClient;
let onB: BridgeServiceClient;

beforeAll(async () => {
  store = new SessionStore();
  a = await BridgeServer.start({ store, heartbeatMs: 50 });
  b = await BridgeServer.start({ store, heartbeatMs: 50 });
  onA = rawClient(a.address);
  onB = rawClient(b.address);
});
afterAll(async () => {
  onA.close();
  onB.close();
  await Promise.all([a.close(), b.close()]);
  store.close();
});

const wireValue = (u: VariableUpdate__Output) => JSON.parse(u.variable!.value!.value.toString());
const changes = (updates: VariableUpdate__Output[]) =>
  updates.filter((u) => u.update_type === "value_change" || u.update_type === "registered");

const set = (client: BridgeServiceClient, sessionId: string, value: number, requestId = "") =>
  unary<{ new_version: number }>(client, "SetVariable", {
    session_id: sessionId,
    variable_identifier: "t",
    value: any("float", value),
    request_id: requestId,
  });

describe("two bridges on one store", () => {
  it("a session made through A is read and written through B, and watched on both", async () => {
    await sessionWithT(onA, "shared");
    const onBoth = [
      collectWatch(onA, { session_id: "shared" }),
      collectWatch(onB, { session_id: "shared" }),
    ];
    await Promise.all(onBoth.map((w) => w.opened));
    expect((await set(onB, "shared", 0.5)).ok).toBe(true);
    expect((await set(onA, "shared", 0.75)).ok).toBe(true);
    await until(() => onBoth.every((w) => changes(w.updates).length === 2), "both watchers heard");
    for (const w of onBoth) {
      expect(changes(w.updates).map(wireValue)).toEqual([0.5, 0.75]);
      w.call.cancel();
    }
    const read = await unary<{ variable: { version: number } }>(onB, "GetVariable", {
      session_id: "shared",
      variable_identifier: "t",
    });
    expect(read.ok && read.response.variable.version).toBe(3);
  });

  it("a watcher resumes on B right after the last change it heard on A", async () => {
    await sessionWithT(onA, "resume");
    const first = collectWatch(onA, { session_id: "resume" });
    await first.opened;
    for (const value of [1, 2]) expect((await set(onA, "resume", value)).ok).toBe(true);
    await until(() => changes(first.updates).length === 2, "the first watcher heard two");
    first.call.cancel();
    const cursor = changes(first.updates)[1]!.cursor;
    expect(cursor).not.toBe("");
    // Written while nobody watched: a resumed watcher must hear exactly these.
    for (const value of [3, 4, 5]) expect((await set(onA, "resume", value)).ok).toBe(true);
    const second = collectWatch(onB, {
      session_id: "resume",
      include_initial_values: true,
      resume_after: cursor,
    });
    await until(() => changes(second.updates).length === 3, "the resumed watcher caught up");
    expect(second.updates[0]!.update_type).toBe("resumed");
    expect(second.updates.some((u) => u.update_type === "initial_value")).toBe(false);
    expect(changes(second.updates).map(wireValue)).toEqual([3, 4, 5]);
    // And it keeps hearing live changes after the replay, each once.
    expect((await set(onB, "resume", 6)).ok).toBe(true);
    await until(() => changes(second.updates).length === 4, "the live change");
    expect(changes(second.updates).map(wireValue)).toEqual([3, 4, 5, 6]);
    second.call.cancel();
  });

  it("a cursor no longer held falls back to the snapshot", async () => {
    await sessionWithT(onA, "trimmed");
    const first = collectWatch(onA, { session_id: "trimmed" });
    await first.opened;
    expect((await set(onA, "trimmed", 1)).ok).toBe(true);
    await until(() => changes(first.updates).length === 1, "one change");
    first.call.cancel();
    const cursor = changes(first.updates)[0]!.cursor;
    // In-process writes go through the same store, and so through the same change feed.
    for (let i = 0; i <= MEMORY_FEED_RETENTION; i++) store.set("trimmed", "t", i / 1000);
    const second = collectWatch(onB, {
      session_id: "trimmed",
      include_initial_values: true,
      resume_after: cursor,
    });
    await until(() => second.updates.some((u) => u.update_type === "heartbeat"), "snapshot");
    const kinds = second.updates.map((u) => u.update_type);
    expect(kinds).not.toContain("resumed");
    expect(kinds[0]).toBe("initial_value");
    expect(wireValue(second.updates[0]!)).toBe(MEMORY_FEED_RETENTION / 1000);
    second.call.cancel();
  });

  it("a malformed cursor is INVALID_ARGUMENT", async () => {
    await sessionWithT(onA, "bad-cursor");
    const status = await new Promise<grpc.StatusObject>((resolve) => {
      const call = onB.WatchVariables({ session_id: "bad-cursor", resume_after: "not a cursor" });
      call.on("error", () => {});
      call.on("status", resolve);
    });
    expect(status.code).toBe(3);
    expect(status.details).toContain("resume_after");
  });

  it("a write retried through B with its request id applies once", async () => {
    await sessionWithT(onA, "retry");
    const watcher = collectWatch(onA, { session_id: "retry" });
    await watcher.opened;
    const first = await set(onA, "retry", 0.25, "req-1");
    const again = await set(onB, "retry", 0.25, "req-1");
    expect(first.ok && again.ok).toBe(true);
    if (!first.ok || !again.ok) return;
    expect(again.response.new_version).toBe(first.response.new_version);
    const other = await set(onB, "retry", 0.5, "req-2");
    expect(other.ok && other.response.new_version).toBe(first.response.new_version + 1);
    await until(() => changes(watcher.updates).length === 2, "two changes");
    expect(changes(watcher.updates).map(wireValue)).toEqual([0.25, 0.5]);
    watcher.call.cancel();
  });

  it("a batch retried through B with its request id applies once", async () => {
    await sessionWithT(onA, "batch-retry");
    const batch = (client: BridgeServiceClient) =>
      unary<{ new_versions: Record<string, number> }>(client, "SetVariables", {
        session_id: "batch-retry",
        updates: { t: any("float", 0.125) },
        atomic: true,
        request_id: "batch-1",
      });
    const first = await batch(onA);
    const again = await batch(onB);
    expect(first.ok && first.response.new_versions).toEqual({ t: 2 });
    expect(again.ok && again.response.new_versions).toEqual({ t: 2 });
  });

  it("a registration and a deletion retried through B with their request ids apply once", async () => {
    await expectRetriedRegisterAndDeleteApplyOnce(onA, onB, "keyed-structure");
  });

  it("a request id over 128 characters is INVALID_ARGUMENT and changes nothing", async () => {
    await sessionWithT(onA, "long-id");
    const refused = await set(onB, "long-id", 0.5, "x".repeat(129));
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.details).toContain("request_id");
    const read = await unary<{ variable: { version: number } }>(onB, "GetVariable", {
      session_id: "long-id",
      variable_identifier: "t",
    });
    expect(read.ok && read.response.variable.version).toBe(1);
  });
});
