import { readFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import * as grpc from "@grpc/grpc-js";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BridgeServer } from "../src/index.js";
import type { BridgeServiceClient } from "../src/wire/generated/snakepit/bridge/BridgeService.js";
import { loadBridgeProto, SERVICE_NAME } from "../src/wire/proto.js";
import { any, rawClient, startCli, unary, until } from "./helpers.js";

/*
 * Hostile requests against a real server. Each attack runs next to a Ping loop; the worst
 * latency it saw is printed ("[hostile] ...") and bounded.
 */

let server: BridgeServer;
let client: BridgeServiceClient;
let generic: grpc.Client;

beforeAll(async () => {
  server = await BridgeServer.start({
    maxWatchersPerSession: 3,
    maxStreamsPerConnection: 4,
    maxIdentifiersPerRequest: 100,
    maxPatternBytes: 64,
    maxSessionIdBytes: 64,
    maxIdentifierBytes: 300,
  });
  client = rawClient(server.address);
  generic = new grpc.Client(server.address, grpc.credentials.createInsecure());
});
afterAll(async () => {
  client.close();
  generic.close();
  await server.close();
});

/** Pings on its own connection while `attack` runs; answers the worst latency in ms. */
async function worstPingDuring(address: string, attack: () => Promise<void>): Promise<number> {
  const pinger = rawClient(address, grpc.credentials.createInsecure(), {
    "grpc.use_local_subchannel_pool": 1,
  });
  let worst = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      const pong = await unary(pinger, "Ping", { message: "p" });
      expect(pong.ok).toBe(true);
      worst = Math.max(worst, performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, 20));
  try {
    await attack();
  } finally {
    running = false;
    await loop;
    pinger.close();
  }
  return worst;
}

function report(attack: string, worstMs: number): void {
  console.log(`[hostile] ${attack}: worst concurrent ping ${worstMs.toFixed(1)} ms`);
}

/** A method called with raw request bytes, as a client of any language could send them. */
function rawCall(
  method: string,
  bytes: Buffer,
  via: grpc.Client = generic,
): Promise<{ code: grpc.status; details: string; trailer: number }> {
  const path = `/${SERVICE_NAME}/${method}`;
  const identity = (b: Buffer) => b;
  return new Promise((resolve) => {
    let trailer = 0;
    const done = (code: grpc.status, details: string) => {
      resolve({ code, details, trailer });
    };
    const deadline = { deadline: Date.now() + 5_000 };
    if (method === "WatchVariables") {
      const call = via.makeServerStreamRequest(path, identity, identity, bytes, deadline);
      // Headers mean "subscribed": the call was accepted, so end it rather than wait.
      call.on("metadata", () => call.cancel());
      call.on("data", () => call.cancel());
      call.on("error", () => {});
      call.on("status", (s: grpc.StatusObject) => {
        trailer = trailerBytes(s.metadata);
        done(s.code, s.details);
      });
      return;
    }
    const call = via.makeUnaryRequest(path, identity, identity, bytes, deadline, (error) =>
      done(error?.code ?? grpc.status.OK, error?.details ?? ""),
    );
    call.on("status", (s: grpc.StatusObject) => {
      trailer = trailerBytes(s.metadata);
    });
  });
}

function trailerBytes(metadata: grpc.Metadata): number {
  let total = 0;
  for (const [key, value] of Object.entries(metadata.getMap())) {
    total += key.length + (typeof value === "string" ? value.length : value.byteLength);
  }
  return total;
}

const METHODS = [
  "Ping",
  "InitializeSession",
  "CleanupSession",
  "GetSession",
  "Heartbeat",
  "GetVariable",
  "SetVariable",
  "GetVariables",
  "SetVariables",
  "RegisterVariable",
  "ListVariables",
  "DeleteVariable",
  "WatchVariables",
  "GetExposedElixirTools",
  "ImportState",
  "GetVariableHistory",
] as const;

/** What a session holds, to show that refused calls changed nothing. */
async function fingerprint(session: string): Promise<string> {
  const listed = await unary<{ variables: Array<{ name: string; version: number }> }>(
    client,
    "ListVariables",
    { session_id: session },
  );
  if (!listed.ok) return `missing: ${listed.code}`;
  return JSON.stringify(listed.response.variables.map((v) => [v.name, v.version]).sort());
}

async function sessionWith(id: string, variables: Record<string, number>): Promise<void> {
  expect((await unary(client, "InitializeSession", { session_id: id })).ok).toBe(true);
  for (const [name, value] of Object.entries(variables)) {
    const registered = await unary(client, "RegisterVariable", {
      session_id: id,
      name,
      type: "integer",
      initial_value: any("integer", value),
    });
    expect(registered.ok).toBe(true);
  }
}

describe("request limits, each named in the refusal", () => {
  it("session ids: at most maxSessionIdBytes, valid UTF-8", async () => {
    const long = "s".repeat(65);
    for (const method of ["InitializeSession", "GetSession", "ListVariables"]) {
      const refused = await unary(client, method, { session_id: long });
      expect(refused, method).toMatchObject({ ok: false, code: grpc.status.INVALID_ARGUMENT });
      expect(!refused.ok && refused.details).toMatch(/65 bytes, more than maxSessionIdBytes = 64/);
    }
    expect((await unary(client, "GetSession", { session_id: long })).ok).toBe(false);
    // Field 1 (session_id) holding 0xff 0xfe: not UTF-8.
    const invalid = await rawCall("InitializeSession", Buffer.from([0x0a, 2, 0xff, 0xfe]));
    expect(invalid.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(invalid.details).toMatch(/session_id is not valid UTF-8/);
    const ids = await unary<{ session_valid: boolean }>(client, "Heartbeat", {
      session_id: "\ufffd\ufffd",
    });
    expect(ids).toMatchObject({ ok: true, response: { session_valid: false } });
  });

  it("identifiers: at most maxIdentifiersPerRequest per call, maxIdentifierBytes each, quoted short", async () => {
    await sessionWith("ids", { a: 1 });
    const many = Array.from({ length: 101 }, (_, i) => `v${i}`);
    const get = await unary(client, "GetVariables", {
      session_id: "ids",
      variable_identifiers: many,
    });
    expect(get).toMatchObject({ ok: false, code: grpc.status.INVALID_ARGUMENT });
    expect(!get.ok && get.details).toMatch(
      /101 identifiers, more than maxIdentifiersPerRequest = 100/,
    );
    const updates = Object.fromEntries(many.map((name) => [name, any("integer", 1)]));
    const set = await unary(client, "SetVariables", { session_id: "ids", updates });
    expect(!set.ok && set.details).toMatch(/maxIdentifiersPerRequest = 100/);
    const hostile = "x".repeat(33_000);
    for (const method of ["GetVariable", "SetVariable", "DeleteVariable"]) {
      const refused = await rawCall(
        method,
        Buffer.from(
          (
            loadBridgeProto().grpcObject.snakepit.bridge.BridgeService.service as Record<
              string,
              grpc.MethodDefinition<object, object>
            >
          )[method]!.requestSerialize({ session_id: "ids", variable_identifier: hostile }),
        ),
      );
      expect(refused.code, method).toBe(grpc.status.INVALID_ARGUMENT);
      expect(refused.details).toMatch(/33000 bytes, more than maxIdentifierBytes = 300/);
      expect(refused.details.length).toBeLessThan(300);
      expect(refused.trailer).toBeLessThan(1000);
    }
    // Within the limit, a missing identifier is NOT_FOUND and quoted shortened.
    const missing = await unary(client, "GetVariable", {
      session_id: "ids",
      variable_identifier: "y".repeat(299),
    });
    expect(missing).toMatchObject({ ok: false, code: grpc.status.NOT_FOUND });
    expect(!missing.ok && missing.details.length).toBeLessThan(400);
    expect(await fingerprint("ids")).toBe('[["a",1]]');
  });

  it("patterns: at most maxPatternBytes, for ListVariables and WatchVariables", async () => {
    await sessionWith("patterns", { a: 1 });
    const pattern = "*a".repeat(33);
    const listed = await unary(client, "ListVariables", { session_id: "patterns", pattern });
    expect(listed).toMatchObject({ ok: false, code: grpc.status.INVALID_ARGUMENT });
    expect(!listed.ok && listed.details).toMatch(/66 bytes, more than maxPatternBytes = 64/);
    const status = await new Promise<grpc.StatusObject>((resolve) => {
      const call = client.WatchVariables({ session_id: "patterns", pattern });
      call.on("error", () => {});
      call.on("status", resolve);
    });
    expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(status.details).toMatch(/maxPatternBytes = 64/);
  });

  it("watch streams: at most maxWatchersPerSession per session, maxStreamsPerConnection per connection", async () => {
    await sessionWith("watched", { a: 1 });
    await sessionWith("watched2", {});
    const open = (c: BridgeServiceClient, session: string) => {
      const call = c.WatchVariables({ session_id: session });
      const status = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
      call.on("error", () => {});
      const opened = new Promise<boolean>((resolve) => {
        call.on("metadata", () => resolve(true));
        void status.then(() => resolve(false));
      });
      return { call, status, opened };
    };
    const first = [open(client, "watched"), open(client, "watched"), open(client, "watched")];
    expect(await Promise.all(first.map((w) => w.opened))).toEqual([true, true, true]);
    const fourth = open(client, "watched");
    const refused = await fourth.status;
    expect(refused.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(refused.details).toMatch(/3 open watch streams \(limit maxWatchersPerSession = 3\)/);
    // One more on another session fits this connection (4); the next one does not.
    const other = open(client, "watched2");
    expect(await other.opened).toBe(true);
    const fifth = open(client, "watched2");
    const perConnection = await fifth.status;
    expect(perConnection.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(perConnection.details).toMatch(/limit maxStreamsPerConnection = 4/);
    // A slot given back is usable again (once the server has seen the cancel).
    first[0]!.call.cancel();
    await first[0]!.status;
    let again = open(client, "watched");
    for (let tries = 0; !(await again.opened) && tries < 50; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      again = open(client, "watched");
    }
    expect(await again.opened).toBe(true);
    for (const w of [first[1]!, first[2]!, other, again]) w.call.cancel();
    await Promise.all([first[1]!, first[2]!, other, again].map((w) => w.status));
  });

  it("one million identifiers are refused without stalling other clients (default limits)", async () => {
    const wide = await BridgeServer.start();
    try {
      const hostile = new grpc.Client(wide.address, grpc.credentials.createInsecure());
      // Encoded before the ping loop starts: the loop then measures the server's cost alone.
      const bytes = Buffer.from(
        (
          loadBridgeProto().grpcObject.snakepit.bridge.BridgeService.service as Record<
            string,
            grpc.MethodDefinition<object, object>
          >
        ).GetVariables!.requestSerialize({
          session_id: "none",
          variable_identifiers: Array.from({ length: 1_000_000 }, (_, i) => `v${i}`),
        }),
      );
      let refused: Awaited<ReturnType<typeof rawCall>> | undefined;
      const worst = await worstPingDuring(wide.address, async () => {
        refused = await rawCall("GetVariables", bytes, hostile);
      });
      hostile.close();
      expect(refused?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(refused?.details).toMatch(
        /1000000 identifiers, more than maxIdentifiersPerRequest = 10000/,
      );
      report("GetVariables with 1 000 000 identifiers", worst);
      expect(worst).toBeLessThan(500);
    } finally {
      await wide.close();
    }
  });

  it("the CLI takes every limit as a flag", async () => {
    const cli = await startCli([
      "--max-session-id-bytes",
      "8",
      "--max-identifier-bytes",
      "8",
      "--max-identifiers-per-request",
      "2",
      "--max-pattern-bytes",
      "4",
      "--max-watchers-per-session",
      "1",
      "--max-streams-per-connection",
      "1",
      "--max-watch-buffer-bytes",
      "65536",
    ]);
    const c = rawClient(cli.address);
    try {
      const cases: Array<[string, object, RegExp]> = [
        ["GetSession", { session_id: "123456789" }, /maxSessionIdBytes = 8/],
        [
          "GetVariable",
          { session_id: "s", variable_identifier: "123456789" },
          /maxIdentifierBytes = 8/,
        ],
        [
          "GetVariables",
          { session_id: "s", variable_identifiers: ["a", "b", "c"] },
          /maxIdentifiersPerRequest = 2/,
        ],
        ["ListVariables", { session_id: "s", pattern: "abcde" }, /maxPatternBytes = 4/],
      ];
      for (const [method, request, limit] of cases) {
        const refused = await unary(c, method, request);
        expect(refused, method).toMatchObject({ ok: false, code: grpc.status.INVALID_ARGUMENT });
        expect(!refused.ok && refused.details).toMatch(limit);
      }
      expect((await unary(c, "InitializeSession", { session_id: "s" })).ok).toBe(true);
      const watchOn = (session: string) => {
        const call = c.WatchVariables({ session_id: session });
        call.on("error", () => {});
        return {
          call,
          result: new Promise<string>((resolve) => {
            call.on("metadata", () => resolve("open"));
            call.on("status", (st: grpc.StatusObject) => resolve(st.details));
          }),
        };
      };
      const first = watchOn("s");
      expect(await first.result).toBe("open");
      expect(await watchOn("s").result).toMatch(/maxWatchersPerSession = 1/);
      first.call.cancel();
    } finally {
      c.close();
      expect(await cli.stop()).toBe(0);
    }
  });

  it("a bad limit option throws a TypeError naming it", async () => {
    await expect(BridgeServer.start({ maxWatchersPerSession: 0 })).rejects.toThrow(
      /maxWatchersPerSession must be a positive number/,
    );
  });
});

describe("undecodable or mistyped requests", () => {
  it("answer INVALID_ARGUMENT on every method, never INTERNAL", async () => {
    const garbage = [
      Buffer.from([0xff, 0xff, 0xff]), // truncated varint tag
      Buffer.from([0x08, 0x01]), // field 1 (a string everywhere) sent as a varint
      Buffer.from([0x0a, 0x05, 0x61]), // length past the end
      Buffer.from([0x0f]), // wire type 7
    ];
    for (const method of METHODS) {
      for (const bytes of garbage) {
        const answer = await rawCall(method, bytes);
        expect(answer.code, `${method} ${bytes.toString("hex")}`).toBe(
          grpc.status.INVALID_ARGUMENT,
        );
        expect(answer.details).toMatch(new RegExp(`^${method}: the request is not a valid`));
      }
    }
  });

  it("random bytes and random decodable messages: no INTERNAL or UNKNOWN, refusals change nothing", async () => {
    await sessionWith("sentinel", { a: 1, b: 2 });
    const before = await fingerprint("sentinel");
    const service = loadBridgeProto().grpcObject.snakepit.bridge.BridgeService.service as Record<
      string,
      grpc.MethodDefinition<object, object>
    >;
    const method = fc.constantFrom(...METHODS);
    const text = fc.oneof(
      fc.constantFrom("sentinel", "a", "b", "*", "", "\u0000", "\ud800"),
      fc.string({ maxLength: 40 }),
    );
    const anyValue = fc.record({
      type_url: fc.oneof(
        fc.constantFrom("type.googleapis.com/snakepit.integer", "type.googleapis.com/snakepit.x"),
        fc.string({ maxLength: 20 }),
      ),
      value: fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b)),
    });
    const message = fc.record(
      {
        session_id: text,
        variable_identifier: text,
        variable_identifiers: fc.array(text, { maxLength: 4 }),
        name: text,
        type: fc.oneof(fc.constantFrom("integer", "float", "string", "tensor"), text),
        value: anyValue,
        initial_value: anyValue,
        constraints_json: fc.oneof(fc.constantFrom('{"min":5}', "{", "[]"), text),
        pattern: text,
        updates: fc.dictionary(text, anyValue, { maxKeys: 3 }),
        expected_version: fc.integer({ min: -5, max: 5 }),
        atomic: fc.boolean(),
        export_json: fc.oneof(fc.constantFrom("{}", "null"), text),
        metadata: fc.dictionary(text, text, { maxKeys: 3 }),
      },
      { requiredKeys: [] },
    );
    const request = fc.oneof(
      fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ raw: Buffer.from(bytes) })),
      message.map((fields) => ({ fields })),
    );
    let refusedOnSentinel = 0;
    const started = performance.now();
    await fc.assert(
      fc.asyncProperty(method, request, async (name, input) => {
        const bytes =
          "raw" in input ? input.raw : Buffer.from(service[name]!.requestSerialize(input.fields));
        const answer = await rawCall(name, bytes);
        expect([grpc.status.INTERNAL, grpc.status.UNKNOWN]).not.toContain(answer.code);
        const touchesSentinel = "fields" in input && input.fields.session_id === "sentinel";
        if (answer.code !== grpc.status.OK && touchesSentinel) {
          refusedOnSentinel++;
          // A refused call on the sentinel session changed nothing there.
          if (name !== "CleanupSession") expect(await fingerprint("sentinel")).toBe(before);
        }
        if (touchesSentinel && answer.code === grpc.status.OK) {
          // An accepted one may change it: start again from the same state.
          await unary(client, "CleanupSession", { session_id: "sentinel" });
          await sessionWith("sentinel", { a: 1, b: 2 });
        }
      }),
      { numRuns: 400, seed: 12 },
    );
    console.log(`[hostile] fuzz: 400 cases in ${(performance.now() - started).toFixed(0)} ms`);
    expect(refusedOnSentinel).toBeGreaterThan(0);
    expect(performance.now() - started).toBeLessThan(8_000);
    expect(await unary(client, "Ping", { message: "still here" })).toMatchObject({ ok: true });
  }, 20_000);
});

describe("a watcher that never reads", () => {
  const rssOf = (pid: number) =>
    Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;

  it("costs bounded memory: changes are conflated per variable, then delivered as the latest state", async () => {
    const cli = await startCli([]);
    const writer = rawClient(cli.address);
    const watcherClient = rawClient(cli.address, grpc.credentials.createInsecure(), {
      "grpc.use_local_subchannel_pool": 1,
    });
    try {
      const variables = 100;
      const updatesPerVariable = 1000;
      const value = "v".repeat(1024);
      await unary(writer, "InitializeSession", { session_id: "slow" });
      for (let i = 0; i < variables; i++) {
        const registered = await unary(writer, "RegisterVariable", {
          session_id: "slow",
          name: `v${i}`,
          type: "string",
          initial_value: any("string", value),
        });
        expect(registered.ok).toBe(true);
      }
      const received: Array<{ variable_id: string; version: number; conflated: boolean }> = [];
      const call = watcherClient.WatchVariables({ session_id: "slow" });
      call.on("error", () => {});
      call.on("data", (u: VariableUpdateMessage) => {
        if (u.update_type !== "heartbeat") {
          received.push({
            variable_id: u.variable_id,
            version: u.variable?.version ?? 0,
            conflated: u.conflated,
          });
        }
      });
      await new Promise((resolve) => call.on("metadata", resolve));
      call.pause();
      const rssBefore = rssOf(cli.child.pid as number);
      const worst = await worstPingDuring(cli.address, async () => {
        for (let round = 1; round <= updatesPerVariable; round++) {
          const updates = Object.fromEntries(
            Array.from({ length: variables }, (_, i) => [
              `v${i}`,
              any("string", `${round}${value}`),
            ]),
          );
          const written = await unary(writer, "SetVariables", { session_id: "slow", updates });
          expect(written.ok).toBe(true);
        }
      });
      const grown = rssOf(cli.child.pid as number) - rssBefore;
      report(`${variables * updatesPerVariable} updates of 1 KiB to a paused watcher`, worst);
      console.log(`[hostile] paused watcher: server RSS grew ${grown.toFixed(1)} MiB`);
      // Unbounded (write() ignored) this grew 330 MiB; bounded, RSS is the garbage of the writes.
      expect(grown).toBeLessThan(150);
      call.resume();
      const latest = updatesPerVariable + 1;
      await until(
        () =>
          new Set(received.filter((u) => u.version === latest).map((u) => u.variable_id)).size ===
          variables,
        "every variable's latest version",
        10_000,
      );
      console.log(
        `[hostile] paused watcher then got ${received.length} messages (${received.filter((u) => u.conflated).length} conflated)`,
      );
      expect(received.length).toBeLessThan(variables * updatesPerVariable);
      expect(received.some((u) => u.conflated)).toBe(true);
      // Per variable, versions still only go up.
      const lastSeen = new Map<string, number>();
      for (const u of received) {
        expect(u.version).toBeGreaterThan(lastSeen.get(u.variable_id) ?? 0);
        lastSeen.set(u.variable_id, u.version);
      }
      call.cancel();
    } finally {
      writer.close();
      watcherClient.close();
      expect(await cli.stop()).toBe(0);
    }
  }, 30_000);
});

describe("a watcher that never reads, in-process", () => {
  it("retains at most maxWatchBufferBytes plus one event per variable after GC", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const local = await BridgeServer.start({ maxWatchBufferBytes: 256 * 1024 });
    const watcherClient = rawClient(local.address, grpc.credentials.createInsecure(), {
      "grpc.use_local_subchannel_pool": 1,
    });
    try {
      const value = "w".repeat(1024);
      local.store.createSession("inproc");
      for (let i = 0; i < 100; i++) {
        local.store.register("inproc", { name: `v${i}`, type: "string", value });
      }
      const call = watcherClient.WatchVariables({ session_id: "inproc" });
      let received = 0;
      call.on("error", () => {});
      call.on("data", () => {
        received++;
      });
      await new Promise((resolve) => call.on("metadata", resolve));
      call.pause();
      await new Promise((resolve) => setTimeout(resolve, 50));
      gc();
      const before = process.memoryUsage().heapUsed;
      for (let round = 1; round <= 1000; round++) {
        for (let i = 0; i < 100; i++) local.store.set("inproc", `v${i}`, `${round}${value}`);
        if (round % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      gc();
      const retained = (process.memoryUsage().heapUsed - before) / 1024 / 1024;
      console.log(
        `[hostile] paused watcher, 100 000 updates of 1 KiB in-process: heap retained ${retained.toFixed(1)} MiB (maxWatchBufferBytes 256 KiB)`,
      );
      // With no bound (maxWatchBufferBytes 1e12) this retained 86 MiB of heap.
      expect(retained).toBeLessThan(16);
      call.resume();
      await until(() => received >= 100, "the catch-up", 10_000);
      call.cancel();
    } finally {
      watcherClient.close();
      await local.close();
    }
  }, 30_000);
});

type VariableUpdateMessage = {
  variable_id: string;
  update_type: string;
  conflated: boolean;
  variable?: { version: number };
};
