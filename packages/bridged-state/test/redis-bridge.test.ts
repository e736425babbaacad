import { execFile } from "node:child_process";
import { get as httpGet } from "node:http";
import { promisify } from "node:util";
import { runConformanceSuite } from "@dspex/provider-tests/vitest";
import { unwrap } from "@dspex/state-provider";
import { startRedisCluster, startRedisServer, type TestServer } from "@dspex/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BridgeServer, RemoteState } from "../src/index.js";
import { RedisBridgeStore } from "../src/redis.js";
import type { BridgeServiceClient } from "../src/wire/generated/snakepit/bridge/BridgeService.js";
import type { VariableUpdate__Output } from "../src/wire/generated/snakepit/bridge/VariableUpdate.js";
import {
  any,
  collectWatch,
  expectRetriedRegisterAndDeleteApplyOnce,
  healthClient,
  rawClient,
  sessionWithT,
  startCli,
  unary,
  until,
} from "./helpers.js";

/*
 * Bridges whose sessions live in a real redis-server. The whole conformance suite runs through
 * RemoteState against one such bridge, and again across two (the suite's second instance, its
 * reader and watcher, on the other bridge); then what only a shared store shows: sessions made
 * on one bridge served by another, health following Redis, ids and cursors across bridges.
 */

const redis: TestServer = await startRedisServer();
const opened = async () => unwrap(await RedisBridgeStore.open({ url: redis.url, timeoutMs: 3000 }));
const storeA = await opened();
const storeB = await opened();
const bridgeA = await BridgeServer.start({ store: storeA, heartbeatMs: 200 });
const bridgeB = await BridgeServer.start({ store: storeB, heartbeatMs: 200 });
const remote = (address: string) => new RemoteState({ address, deadlineMs: 5_000 });

// The bridges run in this process: each opens its Redis pub/sub connection at its first watch
// and keeps it. Opened here, so the suite's handle check sees only what its client leaves.
unwrap(await storeA.createSession("warm-up", {}));
for (const store of [storeA, storeB]) {
  const watching = unwrap(await store.watch("warm-up", { begin() {}, change() {}, end() {} }));
  watching.close();
}

afterAll(async () => {
  await Promise.all([bridgeA.close(), bridgeB.close()]);
  await Promise.all([storeA.close(), storeB.close()]);
  await redis.stop();
});

describe("RemoteState on a bridge on Redis", () => {
  runConformanceSuite(remote(bridgeA.address), {
    secondInstance: () => remote(bridgeA.address),
  });
});

describe("RemoteState across two bridges on one Redis", () => {
  runConformanceSuite(remote(bridgeA.address), {
    secondInstance: () => remote(bridgeB.address),
  });
});

describe("two bridges on one Redis, over the wire", () => {
  let onA: BridgeServiceClient;
  let onB: BridgeServiceClient;
  beforeAll(() => {
    onA = rawClient(bridgeA.address);
    onB = rawClient(bridgeB.address);
  });
  afterAll(() => {
    onA.close();
    onB.close();
  });

  const set = (client: BridgeServiceClient, session: string, value: number, requestId = "") =>
    unary<{ new_version: number }>(client, "SetVariable", {
      session_id: session,
      variable_identifier: "t",
      value: any("float", value),
      request_id: requestId,
    });

  const changes = (updates: VariableUpdate__Output[]) =>
    updates.filter((u) => u.update_type === "value_change");
  const wireValue = (u: VariableUpdate__Output) => JSON.parse(u.variable!.value!.value.toString());

  it("a session made on A already exists for B, and B's watcher hears A's writes in order", async () => {
    await sessionWithT(onA, "orders");
    const again = await unary(onB, "InitializeSession", { session_id: "orders" });
    expect(again.ok).toBe(false);
    if (!again.ok) expect(again.code).toBe(6); // ALREADY_EXISTS
    const watcher = collectWatch(onB, { session_id: "orders" });
    await watcher.opened;
    for (let i = 1; i <= 20; i++) expect((await set(i % 2 ? onA : onB, "orders", i)).ok).toBe(true);
    await until(() => changes(watcher.updates).length === 20, "B heard all twenty");
    expect(changes(watcher.updates).map(wireValue)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    const cursors = changes(watcher.updates).map((u) => u.cursor);
    expect(new Set(cursors).size).toBe(20);
    expect(cursors.every((c) => c !== "")).toBe(true);
    watcher.call.cancel();
  });

  it("a registration and a deletion retried through B with their request ids apply once", async () => {
    await expectRetriedRegisterAndDeleteApplyOnce(onA, onB, "keyed-structure");
  });

  it("a watcher resumes on B after the last cursor it heard on A, exactly", async () => {
    await sessionWithT(onA, "resume");
    const first = collectWatch(onA, { session_id: "resume" });
    await first.opened;
    for (const v of [1, 2]) await set(onA, "resume", v);
    await until(() => changes(first.updates).length === 2, "two heard");
    first.call.cancel();
    const cursor = changes(first.updates)[1]!.cursor;
    for (const v of [3, 4, 5]) await set(onB, "resume", v);
    const second = collectWatch(onB, {
      session_id: "resume",
      include_initial_values: true,
      resume_after: cursor,
    });
    await until(() => changes(second.updates).length === 3, "three replayed");
    expect(second.updates[0]!.update_type).toBe("resumed");
    expect(changes(second.updates).map(wireValue)).toEqual([3, 4, 5]);
    await set(onA, "resume", 6);
    await until(() => changes(second.updates).length === 4, "one live");
    expect(changes(second.updates).map(wireValue)).toEqual([3, 4, 5, 6]);
    second.call.cancel();
  });

  it("a write retried through B with A's request id applies once", async () => {
    await sessionWithT(onA, "retry");
    const first = await set(onA, "retry", 0.5, "write-1");
    const again = await set(onB, "retry", 0.5, "write-1");
    expect(first.ok && again.ok).toBe(true);
    if (first.ok && again.ok) expect(again.response.new_version).toBe(first.response.new_version);
    const read = await unary<{ variable: { version: number } }>(onB, "GetVariable", {
      session_id: "retry",
      variable_identifier: "t",
    });
    expect(read.ok && read.response.variable.version).toBe(2);
  });

  it("a session deleted through B ends A's watch streams (OK) and is gone for A", async () => {
    await sessionWithT(onA, "gone");
    const watcher = collectWatch(onA, { session_id: "gone" });
    await watcher.opened;
    const ended = new Promise<number>((resolve) =>
      watcher.call.on("status", (status: { code: number }) => resolve(status.code)),
    );
    expect(
      (await unary(onA, "GetVariable", { session_id: "gone", variable_identifier: "t" })).ok,
    ).toBe(true);
    const cleaned = await unary<{ resources_cleaned: number }>(onB, "CleanupSession", {
      session_id: "gone",
    });
    expect(cleaned.ok && cleaned.response.resources_cleaned).toBe(1);
    const read = await unary(onA, "GetVariable", { session_id: "gone", variable_identifier: "t" });
    expect(read.ok).toBe(false);
    if (!read.ok) expect(read.code).toBe(5); // NOT_FOUND
    // Within the deletion's doorbell (or the feed's 1 s poll), not the 200 ms heartbeat's touch.
    expect(await ended).toBe(0);
  });
});

describe("batches answer alike on a bridge in memory and on Redis", () => {
  it("not atomic: what passes is applied and the rest is named; atomic: nothing is applied", async () => {
    const inMemory = await BridgeServer.start();
    try {
      for (const address of [inMemory.address, bridgeA.address]) {
        const client = rawClient(address);
        const id = `batch-${address}`;
        await sessionWithT(client, id);
        await unary(client, "RegisterVariable", {
          session_id: id,
          name: "n",
          type: "integer",
          initial_value: any("integer", 1),
        });
        const batch = (atomic: boolean) =>
          unary<{
            success: boolean;
            errors: Record<string, string>;
            new_versions: Record<string, number>;
          }>(client, "SetVariables", {
            session_id: id,
            updates: { t: any("float", 0.5), n: any("integer", "not a number") },
            atomic,
          });
        const atomic = await batch(true);
        expect(atomic.ok && atomic.response, address).toMatchObject({
          success: false,
          new_versions: {},
        });
        if (atomic.ok) expect(Object.keys(atomic.response.errors)).toEqual(["n"]);
        const partial = await batch(false);
        expect(partial.ok && partial.response, address).toMatchObject({
          success: false,
          new_versions: { t: 2 },
        });
        if (partial.ok) expect(Object.keys(partial.response.errors)).toEqual(["n"]);
        const versions = await unary<{ variables: Record<string, { version: number }> }>(
          client,
          "GetVariables",
          { session_id: id, variable_identifiers: ["t", "n"] },
        );
        expect(versions.ok && versions.response.variables.t?.version, address).toBe(2);
        expect(versions.ok && versions.response.variables.n?.version, address).toBe(1);
        client.close();
      }
    } finally {
      await inMemory.close();
    }
  });
});

describe("dspex-bridge serve --store", () => {
  it("two CLI bridges on one Redis serve the same session; SIGKILL of one loses nothing", async () => {
    const first = await startCli(["--store", redis.url], "capture");
    const second = await startCli(["--store", redis.url], "capture");
    const onFirst = rawClient(first.address);
    const onSecond = rawClient(second.address);
    try {
      expect(first.stderr()).toContain(`sessions in ${redis.url}`);
      expect((await unary(onFirst, "InitializeSession", { session_id: "cli" })).ok).toBe(true);
      const registered = await unary(onFirst, "RegisterVariable", {
        session_id: "cli",
        name: "lr",
        type: "float",
        initial_value: any("float", 0.1),
      });
      expect(registered.ok).toBe(true);
      const written = await unary<{ new_version: number }>(onFirst, "SetVariable", {
        session_id: "cli",
        variable_identifier: "lr",
        value: any("float", 0.2),
      });
      expect(written.ok && written.response.new_version).toBe(2);
      first.child.kill("SIGKILL");
      await first.exited;
      const read = await unary<{ variable: { version: number; value: { value: Buffer } } }>(
        onSecond,
        "GetVariable",
        { session_id: "cli", variable_identifier: "lr" },
      );
      expect(read.ok).toBe(true);
      if (read.ok) {
        expect(read.response.variable.version).toBe(2);
        expect(JSON.parse(read.response.variable.value.value.toString())).toBe(0.2);
      }
    } finally {
      onFirst.close();
      onSecond.close();
      await Promise.all([first.stop(), second.stop()]);
    }
  });

  it("refuses flags that do not apply to a Redis store, naming them", async () => {
    const cli = `${import.meta.dirname}/../bin/dspex-bridge.js`;
    const run = promisify(execFile);
    for (const [flags, expected] of [
      [["--store", redis.url, "--max-sessions", "5"], "--max-sessions does not apply with --store"],
      [["--store", "http://x"], "--store expects redis://HOST:PORT"],
      [["--store", redis.url, "--store-cluster", "redis://127.0.0.1:1"], "exclude each other"],
      [["--feed-retention", "10"], "--feed-retention needs --store"],
      [["--store", redis.url, "--session-ttl", "0"], "--session-ttl 0"],
    ] as const) {
      const failed = await run(process.execPath, [cli, "serve", ...flags]).then(
        () => undefined,
        (error: { code: number; stderr: string }) => error,
      );
      expect(failed?.code, flags.join(" ")).toBe(2);
      expect(failed?.stderr).toContain(expected);
    }
  });

  it("exits 1 naming Redis when it cannot be reached", async () => {
    const cli = `${import.meta.dirname}/../bin/dspex-bridge.js`;
    const failed = await promisify(execFile)(process.execPath, [
      cli,
      "serve",
      "--store",
      "unix:///nonexistent/redis.sock",
      "--store-timeout-ms",
      "300",
    ]).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain("cannot start");
    expect(failed?.stderr).toContain("/nonexistent/redis.sock");
  });
});

describe("the inspector on a bridge on Redis", () => {
  it("lists sessions from Redis, shows variables and history, and streams another bridge's writes", async () => {
    const store = await opened();
    const server = await BridgeServer.start({ store, inspect: { port: 0 } });
    const onB = rawClient(bridgeB.address);
    const base = server.inspector!.url;
    const read = (path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        httpGet(`${base}${path.slice(1)}`, (res) => {
          let body = "";
          res.on("data", (chunk) => {
            body += chunk;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        }).on("error", reject);
      });
    try {
      expect((await unary(onB, "InitializeSession", { session_id: "seen" })).ok).toBe(true);
      await unary(onB, "RegisterVariable", {
        session_id: "seen",
        name: "lr",
        type: "float",
        initial_value: any("float", 0.1),
      });
      const sessions = JSON.parse((await read("/api/sessions")).body).sessions;
      expect(sessions.map((s: { id: string }) => s.id)).toContain("seen");
      const session = JSON.parse((await read("/api/sessions/seen")).body);
      expect(session.variables.map((v: { name: string }) => v.name)).toEqual(["lr"]);
      // The live stream: a write through the other bridge reaches this bridge's page.
      const heard: string[] = [];
      const events = httpGet(`${base}api/sessions/seen/events`, (res) => {
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => heard.push(chunk));
      });
      await until(() => heard.some((c) => c.startsWith("retry:")), "the stream opened");
      await unary(onB, "SetVariable", {
        session_id: "seen",
        variable_identifier: "lr",
        value: any("float", 0.2),
      });
      await until(() => heard.join("").includes('"version":2'), "the change reached the page");
      events.destroy();
      const history = JSON.parse((await read("/api/sessions/seen/history/lr")).body);
      expect(history.versions.map((v: { value: number }) => v.value)).toEqual([0.2, 0.1]);
      expect((await read("/api/sessions/nope")).status).toBe(404);
    } finally {
      onB.close();
      await server.close();
      await store.close();
    }
  });
});

describe("a bridge on a Redis Cluster", () => {
  it("dspex-bridge serve --store-cluster serves sessions kept in the Cluster", async () => {
    const cluster = await startRedisCluster();
    const bridge = await startCli(["--store-cluster", cluster.rootNodes.join(",")], "capture");
    const client = rawClient(bridge.address);
    try {
      for (const id of ["c1", "c2", "c3"]) {
        expect((await unary(client, "InitializeSession", { session_id: id })).ok).toBe(true);
        await unary(client, "RegisterVariable", {
          session_id: id,
          name: "n",
          type: "integer",
          initial_value: any("integer", 1),
        });
        const set = await unary<{ new_version: number }>(client, "SetVariable", {
          session_id: id,
          variable_identifier: "n",
          value: any("integer", 2),
        });
        expect(set.ok && set.response.new_version).toBe(2);
      }
      const batch = await unary<{ new_versions: Record<string, number> }>(client, "SetVariables", {
        session_id: "c2",
        updates: { n: any("integer", 3) },
        atomic: true,
      });
      expect(batch.ok && batch.response.new_versions).toEqual({ n: 3 });
    } finally {
      client.close();
      await bridge.stop();
      await cluster.stop();
    }
  }, 30_000);
});

describe("health follows Redis", () => {
  it("NOT_SERVING while Redis is down, SERVING once it is back; calls answer UNAVAILABLE meanwhile", async () => {
    const own = await startRedisServer();
    const store = unwrap(
      await RedisBridgeStore.open({ url: own.url, timeoutMs: 500, healthIntervalMs: 100 }),
    );
    const server = await BridgeServer.start({ store });
    const client = rawClient(server.address);
    const health = healthOf(server.address);
    try {
      expect(await health()).toBe("SERVING");
      await own.kill();
      await until(() => !store.health.available, "the store noticed", 5_000);
      expect(await health()).toBe("NOT_SERVING");
      const refused = await unary(client, "GetSession", { session_id: "any" });
      expect(refused.ok).toBe(false);
      if (!refused.ok) expect(refused.code).toBe(14); // UNAVAILABLE
      await own.restart();
      await until(() => store.health.available, "the store is back", 10_000);
      expect(await health()).toBe("SERVING");
    } finally {
      client.close();
      await server.close();
      await store.close();
      await own.stop();
    }
  });
});

/** The bridge's overall health status, as a load balancer would ask it. */
function healthOf(address: string): () => Promise<string> {
  const client = healthClient(address);
  return () =>
    new Promise((resolve) => {
      (client as unknown as HealthCheck).check({ service: "" }, (error, response) =>
        resolve(error ? `error: ${error.message}` : (response?.status ?? "?")),
      );
    });
}

type HealthCheck = {
  check(
    request: { service: string },
    callback: (error: Error | null, response?: { status: string }) => void,
  ): void;
};
