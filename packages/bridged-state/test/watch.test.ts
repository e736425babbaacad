import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BridgeServer } from "../src/index.js";
import type { BridgeServiceClient } from "../src/wire/generated/snakepit/bridge/BridgeService.js";
import type { VariableUpdate__Output } from "../src/wire/generated/snakepit/bridge/VariableUpdate.js";
import { any, rawClient, unary, until } from "./helpers.js";

let server: BridgeServer;
let client: BridgeServiceClient;

beforeAll(async () => {
  server = await BridgeServer.start({ heartbeatMs: 40 });
  client = rawClient(server.address);
});
afterAll(async () => {
  client.close();
  await server.close();
});

/** Opens a watch and collects its messages; `opened` resolves once the server has subscribed. */
function watch(request: object) {
  const updates: VariableUpdate__Output[] = [];
  const call = client.WatchVariables(request);
  let status: grpc.StatusObject | undefined;
  const ended = new Promise<grpc.StatusObject>((resolve) => {
    call.on("status", (s: grpc.StatusObject) => {
      status = s;
      resolve(s);
    });
  });
  call.on("data", (update: VariableUpdate__Output) => updates.push(update));
  call.on("error", () => {});
  const opened = new Promise<void>((resolve) => call.on("metadata", () => resolve()));
  return { call, updates, opened, ended, status: () => status };
}

const jsonValueOf = (u: VariableUpdate__Output) =>
  JSON.parse(u.variable!.value!.value.toString("utf8"));

describe("WatchVariables", () => {
  it("initial values first, then every change in commit order, heartbeats, previous values", async () => {
    const session = "watch-order";
    await unary(client, "InitializeSession", { session_id: session });
    await unary(client, "RegisterVariable", {
      session_id: session,
      name: "n",
      type: "integer",
      initial_value: any("integer", 0),
    });
    await unary(client, "RegisterVariable", {
      session_id: session,
      name: "other",
      type: "integer",
      initial_value: any("integer", 0),
    });
    const w = watch({
      session_id: session,
      variable_identifiers: ["n"],
      include_initial_values: true,
    });
    await w.opened;
    // Sets issued without awaiting each other: the stream must show them in commit order.
    const writes = [];
    for (let i = 1; i <= 20; i++) {
      writes.push(
        unary(client, "SetVariable", {
          session_id: session,
          variable_identifier: "n",
          value: any("integer", i),
        }),
      );
    }
    writes.push(
      unary(client, "SetVariable", {
        session_id: session,
        variable_identifier: "other",
        value: any("integer", 1),
      }),
    );
    await Promise.all(writes);
    await until(
      () => w.updates.filter((u) => u.update_type === "value_change").length === 20,
      "20 changes",
    );
    await until(() => w.updates.some((u) => u.update_type === "heartbeat"), "a heartbeat");
    const first = w.updates[0]!;
    expect(first.update_type).toBe("initial_value");
    expect(jsonValueOf(first)).toBe(0);
    const changes = w.updates.filter((u) => u.update_type === "value_change");
    expect(changes.map(jsonValueOf)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(changes.map((u) => u.variable!.version)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 2),
    );
    expect(changes.every((u) => u.variable!.name === "n")).toBe(true);
    expect(JSON.parse(changes[4]!.previous_value!.value.toString("utf8"))).toBe(4);
    const heartbeat = w.updates.find((u) => u.update_type === "heartbeat")!;
    expect(heartbeat.variable_id).toBe("");
    w.call.cancel();
    await w.ended;
  });

  it("the snapshot and the stream leave no gap: a write right after subscribing is seen", async () => {
    const session = "watch-gap";
    await unary(client, "InitializeSession", { session_id: session });
    await unary(client, "RegisterVariable", {
      session_id: session,
      name: "x",
      type: "float",
      initial_value: any("float", 1),
    });
    const w = watch({ session_id: session, include_initial_values: true });
    const set = unary(client, "SetVariable", {
      session_id: session,
      variable_identifier: "x",
      value: any("float", 2),
    });
    await set;
    await until(
      () =>
        w.updates.some(
          (u) =>
            u.update_type === "value_change" ||
            (u.update_type === "initial_value" && jsonValueOf(u) === 2),
        ),
      "the write",
    );
    w.call.cancel();
    await w.ended;
  });

  it("registrations, deletions and pattern watches; CleanupSession ends the stream cleanly", async () => {
    const session = "watch-cleanup";
    await unary(client, "InitializeSession", { session_id: session });
    const w = watch({ session_id: session, pattern: "temp*" });
    await w.opened;
    await unary(client, "RegisterVariable", {
      session_id: session,
      name: "temperature",
      type: "float",
      initial_value: any("float", 0.5),
    });
    await unary(client, "RegisterVariable", {
      session_id: session,
      name: "model",
      type: "string",
      initial_value: any("string", "m"),
    });
    await unary(client, "DeleteVariable", {
      session_id: session,
      variable_identifier: "temperature",
    });
    await until(() => w.updates.length >= 2, "register and delete");
    expect(w.updates.map((u) => [u.update_type, u.variable!.name])).toEqual([
      ["registered", "temperature"],
      ["deleted", "temperature"],
    ]);
    expect(jsonValueOf(w.updates[1]!)).toBe(0.5);
    await unary(client, "CleanupSession", { session_id: session });
    const status = await w.ended;
    expect(status.code).toBe(grpc.status.OK);
  });

  it("a connected watcher keeps its session from expiring; without one the session expires", async () => {
    const store = new (await import("../src/index.js")).SessionStore({
      sessionTtlMs: 150,
      sweepIntervalMs: 20,
    });
    const short = await BridgeServer.start({ store, heartbeatMs: 30 });
    const shortClient = rawClient(short.address);
    try {
      await unary(shortClient, "InitializeSession", { session_id: "watched" });
      await unary(shortClient, "InitializeSession", { session_id: "idle" });
      const call = shortClient.WatchVariables({ session_id: "watched" });
      call.on("data", () => {});
      call.on("error", () => {});
      await new Promise((resolve) => call.on("metadata", resolve));
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(store.getSession("watched").ok).toBe(true);
      expect(store.getSession("idle").ok).toBe(false);
      call.cancel();
    } finally {
      shortClient.close();
      await short.close();
      store.close();
    }
  });

  it("unknown session -> NOT_FOUND", async () => {
    const w = watch({ session_id: "no-such-session" });
    const status = await w.ended;
    expect(status.code).toBe(grpc.status.NOT_FOUND);
    expect(status.details).toMatch(/not found/);
  });

  it("binary values on request: large embeddings travel as little-endian float64", async () => {
    const session = "watch-binary";
    await unary(client, "InitializeSession", { session_id: session });
    const big = Array.from({ length: 300 }, (_, i) => i / 7);
    const header = { dtype: "float32", shape: [300] };
    const f32 = Buffer.alloc(300 * 4);
    for (const [i, v] of big.entries()) f32.writeFloatLE(v, i * 4);
    const reg = await unary(client, "RegisterVariable", {
      session_id: session,
      name: "vec",
      type: "embedding",
      initial_value: any("embedding", header),
      initial_binary_value: f32,
    });
    expect(reg.ok).toBe(true);
    const got = await unary<{ variable: { value: { value: Buffer }; binary_value: Buffer } }>(
      client,
      "GetVariable",
      {
        session_id: session,
        variable_identifier: "vec",
        prefer_binary: true,
      },
    );
    if (!got.ok) throw new Error(got.details);
    expect(JSON.parse(got.response.variable.value.value.toString("utf8"))).toEqual({
      dtype: "float64",
      shape: [300],
    });
    const bytes = got.response.variable.binary_value;
    expect(bytes.length).toBe(300 * 8);
    expect(bytes.readDoubleLE(8 * 5)).toBe(Math.fround(5 / 7));
    const plain = await unary<{ variable: { value: { value: Buffer }; binary_value: Buffer } }>(
      client,
      "GetVariable",
      {
        session_id: session,
        variable_identifier: "vec",
      },
    );
    if (!plain.ok) throw new Error(plain.details);
    expect(plain.response.variable.binary_value.length).toBe(0);
    expect(JSON.parse(plain.response.variable.value.value.toString("utf8"))[5]).toBe(
      Math.fround(5 / 7),
    );
  });
});
