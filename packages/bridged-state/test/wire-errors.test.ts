import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BridgeServer } from "../src/index.js";
import type { BridgeServiceClient } from "../src/wire/generated/snakepit/bridge/BridgeService.js";
import type { GetVariableResponse__Output } from "../src/wire/generated/snakepit/bridge/GetVariableResponse.js";
import { any, json, rawClient, unary } from "./helpers.js";

/*
 * Bad input over the wire: each case gets the status bridge-protocol.md names, the server keeps
 * serving (every test ends with a successful call), and nothing changes (the variable is read
 * back unchanged).
 */

let server: BridgeServer;
let client: BridgeServiceClient;
const SESSION = "wire-errors";
let sessionCounter = 0;
let session = SESSION;

beforeAll(async () => {
  server = await BridgeServer.start({ maxMessageBytes: 64 * 1024 });
  client = rawClient(server.address, grpc.credentials.createInsecure(), {
    "grpc.max_send_message_length": 1024 * 1024,
  });
});

afterAll(async () => {
  client.close();
  await server.close();
});

beforeEach(async () => {
  session = `${SESSION}-${++sessionCounter}`;
  const init = await unary(client, "InitializeSession", { session_id: session });
  expect(init.ok).toBe(true);
  const registered = await unary(client, "RegisterVariable", {
    session_id: session,
    name: "temperature",
    type: "float",
    initial_value: any("float", 0.7),
    constraints_json: JSON.stringify({ min: 0, max: 2 }),
  });
  expect(registered.ok).toBe(true);
  expect(
    await unary(client, "RegisterVariable", {
      session_id: session,
      name: "model",
      type: "string",
      initial_value: any("string", "gpt-4"),
    }),
  ).toMatchObject({ ok: true });
});

async function unchanged(): Promise<void> {
  const got = await unary<GetVariableResponse__Output>(client, "GetVariable", {
    session_id: session,
    variable_identifier: "temperature",
  });
  if (!got.ok) throw new Error(`server stopped serving: ${got.details}`);
  const variable = got.response.variable!;
  expect(JSON.parse(variable.value!.value.toString("utf8"))).toBe(0.7);
  expect(variable.version).toBe(1);
  const model = await unary<GetVariableResponse__Output>(client, "GetVariable", {
    session_id: session,
    variable_identifier: "model",
  });
  expect(model.ok && JSON.parse(model.response.variable!.value!.value.toString("utf8"))).toBe(
    "gpt-4",
  );
  expect(model.ok && model.response.variable!.version).toBe(1);
}

function set(value: unknown, extra: object = {}) {
  return unary(client, "SetVariable", {
    session_id: session,
    variable_identifier: "temperature",
    value,
    ...extra,
  });
}

describe("bad input over the wire", () => {
  it("malformed Any (no type_url, bytes that are not UTF-8, Any missing) -> INVALID_ARGUMENT", async () => {
    const noUrl = await set({ type_url: "", value: json(1.0) });
    expect(noUrl).toMatchObject({ ok: false, code: grpc.status.INVALID_ARGUMENT });
    expect(!noUrl.ok && noUrl.details).toMatch(/temperature/);
    const notUtf8 = await set({
      type_url: "type.googleapis.com/snakepit.float",
      value: Buffer.from([0xff, 0xfe]),
    });
    expect(notUtf8).toMatchObject({ ok: false, code: grpc.status.INVALID_ARGUMENT });
    expect(!notUtf8.ok && notUtf8.details).toMatch(/UTF-8/);
    const missing = await set(null);
    expect(missing).toMatchObject({ ok: false, code: grpc.status.INVALID_ARGUMENT });
    expect(!missing.ok && missing.details).toMatch(/no value/);
    await unchanged();
  });

  it("a type_url that disagrees with the variable -> INVALID_ARGUMENT naming both", async () => {
    const wrong = await set(any("string", "hot"));
    expect(wrong).toMatchObject({ ok: false, code: grpc.status.INVALID_ARGUMENT });
    expect(!wrong.ok && wrong.details).toMatch(/temperature.*string.*float/);
    await unchanged();
  });

  it("invalid JSON -> INVALID_ARGUMENT naming the variable and the text", async () => {
    const bad = await set({
      type_url: "type.googleapis.com/snakepit.float",
      value: Buffer.from("{0.9", "utf8"),
    });
    expect(bad).toMatchObject({ ok: false, code: grpc.status.INVALID_ARGUMENT });
    expect(!bad.ok && bad.details).toMatch(/temperature.*not valid JSON.*\{0\.9/);
    await unchanged();
  });

  it("a value outside the constraints -> INVALID_ARGUMENT naming variable, rule and value", async () => {
    const bad = await set(any("float", 5));
    expect(bad).toMatchObject({ ok: false, code: grpc.status.INVALID_ARGUMENT });
    expect(!bad.ok && bad.details).toMatch(/temperature.*5.*above maximum 2/);
    await unchanged();
  });

  it("invalid constraints_json at registration -> INVALID_ARGUMENT, nothing registered", async () => {
    for (const constraints_json of [
      "{min: 1",
      JSON.stringify({ min: 3, max: 1 }),
      JSON.stringify({ dimensions: 4 }),
    ]) {
      const bad = await unary(client, "RegisterVariable", {
        session_id: session,
        name: "top_p",
        type: "float",
        initial_value: any("float", 0.5),
        constraints_json,
      });
      expect(bad).toMatchObject({ ok: false, code: grpc.status.INVALID_ARGUMENT });
      expect(!bad.ok && bad.details).toMatch(/top_p.*(constraint|greater than max)/);
    }
    const listed = await unary<{ variables: { name: string }[] }>(client, "ListVariables", {
      session_id: session,
    });
    expect(listed.ok && listed.response.variables.map((v) => v.name)).toEqual([
      "temperature",
      "model",
    ]);
    await unchanged();
  });

  it("unknown type at registration -> INVALID_ARGUMENT naming the type", async () => {
    const bad = await unary(client, "RegisterVariable", {
      session_id: session,
      name: "x",
      type: "complex",
      initial_value: any("complex", 1),
    });
    expect(bad).toMatchObject({ ok: false, code: grpc.status.INVALID_ARGUMENT });
    expect(!bad.ok && bad.details).toMatch(/unknown type "complex"/);
    await unchanged();
  });

  it("InitializeSession without a session_id -> INVALID_ARGUMENT (the answer could not name one)", async () => {
    const before = server.store.stats().sessions;
    const bad = await unary(client, "InitializeSession", { session_id: "" });
    expect(bad).toMatchObject({ ok: false, code: grpc.status.INVALID_ARGUMENT });
    expect(!bad.ok && bad.details).toMatch(/session_id/);
    expect(server.store.stats().sessions).toBe(before);
    await unchanged();
  });

  it("duplicate name -> ALREADY_EXISTS, the existing variable untouched", async () => {
    const dup = await unary(client, "RegisterVariable", {
      session_id: session,
      name: "temperature",
      type: "float",
      initial_value: any("float", 1.5),
    });
    expect(dup).toMatchObject({ ok: false, code: grpc.status.ALREADY_EXISTS });
    const again = await unary(client, "InitializeSession", { session_id: session });
    expect(again).toMatchObject({ ok: false, code: grpc.status.ALREADY_EXISTS });
    await unchanged();
  });

  it("oversized message -> RESOURCE_EXHAUSTED from grpc, and the server keeps serving", async () => {
    const big = await unary(client, "RegisterVariable", {
      session_id: session,
      name: "big",
      type: "string",
      initial_value: any("string", "x".repeat(100 * 1024)),
    });
    expect(big).toMatchObject({ ok: false, code: grpc.status.RESOURCE_EXHAUSTED });
    await unchanged();
  });

  it("unknown session and unknown variable -> NOT_FOUND with 'not found' in the details", async () => {
    for (const [method, request] of [
      ["GetVariable", { session_id: "nope", variable_identifier: "temperature" }],
      [
        "SetVariable",
        { session_id: "nope", variable_identifier: "temperature", value: any("float", 1) },
      ],
      ["ListVariables", { session_id: "nope" }],
      ["GetSession", { session_id: "nope" }],
      ["CleanupSession", { session_id: "nope" }],
      ["SetVariables", { session_id: "nope", updates: { temperature: any("float", 1) } }],
      ["GetVariables", { session_id: "nope", variable_identifiers: ["temperature"] }],
      [
        "RegisterVariable",
        { session_id: "nope", name: "x", type: "float", initial_value: any("float", 1) },
      ],
      ["DeleteVariable", { session_id: "nope", variable_identifier: "temperature" }],
      ["ImportState", { session_id: "nope", export_json: "{}" }],
      ["GetVariable", { session_id: session, variable_identifier: "nope" }],
      ["DeleteVariable", { session_id: session, variable_identifier: "nope" }],
      ["SetVariable", { session_id: session, variable_identifier: "nope", value: any("float", 1) }],
      ["GetVariableHistory", { session_id: "nope", variable_identifier: "temperature" }],
      ["GetVariableHistory", { session_id: session, variable_identifier: "nope" }],
    ] as const) {
      const answer = await unary(client, method, request);
      expect(answer, method).toMatchObject({ ok: false, code: grpc.status.NOT_FOUND });
      expect(!answer.ok && answer.details, method).toMatch(/not found/);
    }
    await unchanged();
  });

  it("expected_version mismatch -> ABORTED naming the current version", async () => {
    const stale = await set(any("float", 0.9), { expected_version: 7 });
    expect(stale).toMatchObject({ ok: false, code: grpc.status.ABORTED });
    expect(!stale.ok && stale.details).toMatch(/version 1, expected 7/);
    await unchanged();
  });

  it("a negative expected_version or expected_versions entry -> INVALID_ARGUMENT, nothing changes", async () => {
    // int32 on the wire: 0 means "no expectation", a negative one can never match any version.
    const single = await set(any("float", 0.9), { expected_version: -1 });
    expect(single).toMatchObject({ ok: false, code: grpc.status.INVALID_ARGUMENT });
    expect(!single.ok && single.details).toMatch(/expected version .*-1/);
    for (const atomic of [true, false]) {
      const batch = await unary(client, "SetVariables", {
        session_id: session,
        updates: { model: any("string", "gpt-5"), temperature: any("float", 0.9) },
        expected_versions: { temperature: -2 },
        atomic,
      });
      expect(batch, `atomic ${atomic}`).toMatchObject({
        ok: false,
        code: grpc.status.INVALID_ARGUMENT,
      });
    }
    await unchanged();
  });

  it("batch with an unknown identifier, atomic: reported in errors, nothing applied", async () => {
    const answer = await unary<{
      success: boolean;
      errors: Record<string, string>;
      new_versions: Record<string, number>;
    }>(client, "SetVariables", {
      session_id: session,
      updates: { temperature: any("float", 0.9), ghost: any("float", 1) },
      atomic: true,
    });
    expect(answer.ok).toBe(true);
    if (!answer.ok) return;
    expect(answer.response.success).toBe(false);
    expect(Object.keys(answer.response.errors)).toEqual(["ghost"]);
    expect(answer.response.errors.ghost).toMatch(/not found/);
    expect(answer.response.new_versions).toEqual({});
    await unchanged();
  });

  it("batch with an unknown identifier, not atomic: the rest applied, the unknown one in errors", async () => {
    const answer = await unary<{
      success: boolean;
      errors: Record<string, string>;
      new_versions: Record<string, number>;
    }>(client, "SetVariables", {
      session_id: session,
      updates: {
        model: any("string", "gpt-5"),
        ghost: any("float", 1),
        temperature: any("float", 9),
      },
      atomic: false,
    });
    expect(answer.ok).toBe(true);
    if (!answer.ok) return;
    expect(answer.response.success).toBe(false);
    expect(Object.keys(answer.response.errors).sort()).toEqual(["ghost", "temperature"]);
    expect(answer.response.new_versions).toEqual({ model: 2 });
    const model = await unary<GetVariableResponse__Output>(client, "GetVariable", {
      session_id: session,
      variable_identifier: "model",
    });
    expect(model.ok && JSON.parse(model.response.variable!.value!.value.toString("utf8"))).toBe(
      "gpt-5",
    );
  });

  it("bad binary values -> INVALID_ARGUMENT (length, dtype, shape), nothing changes", async () => {
    const reg = await unary(client, "RegisterVariable", {
      session_id: session,
      name: "vec",
      type: "embedding",
      initial_value: any("embedding", [1, 2]),
    });
    expect(reg.ok).toBe(true);
    const cases = [
      [{ dtype: "float64", shape: [3] }, Buffer.alloc(16), /16 bytes.*needs 24/],
      [{ dtype: "int8", shape: [2] }, Buffer.alloc(2), /dtype/],
      [{ dtype: "float64", shape: [1, 2] }, Buffer.alloc(16), /shape must be \[n\]/],
    ] as const;
    for (const [header, bytes, message] of cases) {
      const bad = await unary(client, "SetVariable", {
        session_id: session,
        variable_identifier: "vec",
        value: any("embedding", header),
        binary_value: bytes,
      });
      expect(bad).toMatchObject({ ok: false, code: grpc.status.INVALID_ARGUMENT });
      expect(!bad.ok && bad.details).toMatch(message);
    }
    const vec = await unary<GetVariableResponse__Output>(client, "GetVariable", {
      session_id: session,
      variable_identifier: "vec",
    });
    expect(vec.ok && JSON.parse(vec.response.variable!.value!.value.toString("utf8"))).toEqual([
      1, 2,
    ]);
    expect(vec.ok && vec.response.variable!.version).toBe(1);
  });
});

describe("auth", () => {
  let secured: BridgeServer;
  let securedClient: BridgeServiceClient;
  beforeAll(async () => {
    secured = await BridgeServer.start({ token: "s3cret" });
    securedClient = rawClient(secured.address);
  });
  afterAll(async () => {
    securedClient.close();
    await secured.close();
  });

  const withToken = (token: string) => {
    const metadata = new grpc.Metadata();
    metadata.set("authorization", `Bearer ${token}`);
    return metadata;
  };

  it("missing or wrong token -> UNAUTHENTICATED on every service; the right one works", async () => {
    const missing = await unary(securedClient, "Ping", { message: "hi" });
    expect(missing).toMatchObject({ ok: false, code: grpc.status.UNAUTHENTICATED });
    expect(!missing.ok && missing.details).toMatch(/missing authorization/);
    const wrong = await unary(
      securedClient,
      "InitializeSession",
      { session_id: "a" },
      withToken("guess"),
    );
    expect(wrong).toMatchObject({ ok: false, code: grpc.status.UNAUTHENTICATED });
    expect(!wrong.ok && wrong.details).toMatch(/wrong bearer token/);
    expect(secured.store.stats().sessions).toBe(0);
    const right = await unary<{ message: string }>(
      securedClient,
      "Ping",
      { message: "hi" },
      withToken("s3cret"),
    );
    expect(right).toMatchObject({ ok: true, response: { message: "hi" } });
  });
});

describe("limits over the wire", () => {
  it("sessions, variables per session and value size -> RESOURCE_EXHAUSTED naming the limit; nothing changes", async () => {
    const limited = await BridgeServer.start({
      storeOptions: { maxSessions: 1, maxVariablesPerSession: 1, maxValueBytes: 16 },
    });
    const c = rawClient(limited.address);
    try {
      expect((await unary(c, "InitializeSession", { session_id: "one" })).ok).toBe(true);
      const second = await unary(c, "InitializeSession", { session_id: "two" });
      expect(second).toMatchObject({ ok: false, code: grpc.status.RESOURCE_EXHAUSTED });
      expect(!second.ok && second.details).toMatch(/maxSessions = 1/);
      const big = await unary(c, "RegisterVariable", {
        session_id: "one",
        name: "s",
        type: "string",
        initial_value: any("string", "x".repeat(20)),
      });
      expect(big).toMatchObject({ ok: false, code: grpc.status.RESOURCE_EXHAUSTED });
      expect(!big.ok && big.details).toMatch(/maxValueBytes = 16/);
      const small = { session_id: "one", type: "string", initial_value: any("string", "x") };
      expect((await unary(c, "RegisterVariable", { ...small, name: "s" })).ok).toBe(true);
      const more = await unary(c, "RegisterVariable", { ...small, name: "t" });
      expect(more).toMatchObject({ ok: false, code: grpc.status.RESOURCE_EXHAUSTED });
      expect(!more.ok && more.details).toMatch(/maxVariablesPerSession = 1/);
      const grow = await unary(c, "SetVariable", {
        session_id: "one",
        variable_identifier: "s",
        value: any("string", "y".repeat(20)),
      });
      expect(grow).toMatchObject({ ok: false, code: grpc.status.RESOURCE_EXHAUSTED });
      const s = await unary<GetVariableResponse__Output>(c, "GetVariable", {
        session_id: "one",
        variable_identifier: "s",
      });
      expect(s.ok && JSON.parse(s.response.variable!.value!.value.toString("utf8"))).toBe("x");
      expect(s.ok && s.response.variable!.version).toBe(1);
      expect(limited.store.stats()).toMatchObject({ sessions: 1, variables: 1 });
    } finally {
      c.close();
      await limited.close();
    }
  });
});

describe("an answer RemoteState cannot decode", () => {
  it("updateVariables answers an error naming the parse failure, and the session keeps working", async () => {
    const { RemoteState } = await import("../src/index.js");
    const { loadBridgeProto } = await import("../src/wire/proto.js");
    // A relay in front of the bridge: bytes through for every method, garbage for SetVariables.
    const service = loadBridgeProto().grpcObject.snakepit.bridge.BridgeService.service;
    const bytes = (b: Buffer) => b;
    const passthrough: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
    for (const [method, definition] of Object.entries(service)) {
      passthrough[method] = {
        ...definition,
        requestSerialize: bytes,
        requestDeserialize: bytes,
        responseSerialize: bytes,
        responseDeserialize: bytes,
      };
    }
    const upstream = new grpc.Client(server.address, grpc.credentials.createInsecure());
    let garbage = true;
    const relay = new grpc.Server();
    const handlers: grpc.UntypedServiceImplementation = {};
    for (const [method, definition] of Object.entries(passthrough)) {
      if (definition.responseStream) continue;
      handlers[method] = (
        call: grpc.ServerUnaryCall<Buffer, Buffer>,
        callback: grpc.sendUnaryData<Buffer>,
      ) => {
        if (method === "SetVariables" && garbage) {
          // Field 3 (new_versions) claims 100 bytes and holds 2.
          callback(null, Buffer.from([0x1a, 100, 0x0a, 0x00]));
          return;
        }
        upstream.makeUnaryRequest(definition.path, bytes, bytes, call.request, (error, answer) =>
          callback(error, answer),
        );
      };
    }
    relay.addService(passthrough, handlers);
    const port = await new Promise<number>((resolve, reject) =>
      relay.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    const remote = new RemoteState({ address: `127.0.0.1:${port}` });
    const state = await remote.init({ sessionId: `${SESSION}-garbled` });
    if (!state.ok) throw new Error(state.error.message);
    try {
      expect((await remote.registerVariable(state.value, "n", "integer", 1)).ok).toBe(true);
      const refused = await remote.updateVariables(state.value, { n: 2 });
      expect(refused.ok).toBe(false);
      expect(!refused.ok && refused.error.message).toMatch(/parsing error: truncated field/);
      garbage = false;
      const written = await remote.updateVariables(state.value, { n: 3 });
      expect(written.ok && written.value.versions).toEqual({ n: expect.any(Number) });
      const read = await remote.getVariable(state.value, "n");
      expect(read.ok && read.value).toBe(3);
    } finally {
      await remote.cleanup(state.value);
      upstream.close();
      relay.forceShutdown();
    }
  });
});
