// The TypeScript side of the cross-language tests, driven by JSON lines on stdin, one answer
// per line. Two clients: a raw @grpc/grpc-js client (proto-loader on the repo's one .proto)
// that encodes values itself (JSON in Any, or the binary format), checking the wire format
// independently of both libraries; and the package's own RemoteState (ops named rs*), loaded
// from the built @dspex/bridged-state only when first used.
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const protoFile = fileURLToPath(new URL("../../proto/snakepit_bridge.proto", import.meta.url));
const definition = protoLoader.loadSync(protoFile, {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
});
const { BridgeService } = grpc.loadPackageDefinition(definition).snakepit.bridge;
const [address, token] = process.argv.slice(2);
const client = new BridgeService(address, grpc.credentials.createInsecure());
const PREFIX = "type.googleapis.com/snakepit.";

function callMetadata() {
  const md = new grpc.Metadata();
  if (token) md.set("authorization", `Bearer ${token}`);
  return md;
}

function call(method, request) {
  return new Promise((resolve, reject) => {
    client[method](request, callMetadata(), { deadline: Date.now() + 10_000 }, (error, response) =>
      error ? reject(error) : resolve(response),
    );
  });
}

function pack(type, value, binary) {
  if (binary) {
    const data = type === "embedding" ? value : value.data;
    const shape = type === "embedding" ? [data.length] : value.shape;
    const bytes = Buffer.alloc(data.length * 8);
    for (const [i, x] of data.entries()) bytes.writeDoubleLE(x, i * 8);
    const header = JSON.stringify({ dtype: "float64", shape });
    return { any: { type_url: PREFIX + type, value: Buffer.from(header) }, bytes };
  }
  return {
    any: { type_url: PREFIX + type, value: Buffer.from(JSON.stringify(value)) },
    bytes: Buffer.alloc(0),
  };
}

function unpack(variable) {
  const text = variable.value.value.toString("utf8");
  const parsed = JSON.parse(text);
  const bytes = variable.binary_value;
  if (!bytes || bytes.length === 0) return { value: parsed, binary: false };
  const size = parsed.dtype === "float32" ? 4 : 8;
  const data = [];
  for (let i = 0; i < bytes.length; i += size)
    data.push(size === 8 ? bytes.readDoubleLE(i) : bytes.readFloatLE(i));
  return {
    value: variable.type === "embedding" ? data : { shape: parsed.shape, data },
    binary: true,
  };
}

function record(variable) {
  const { value, binary } = unpack(variable);
  return {
    id: variable.id,
    name: variable.name,
    type: variable.type,
    value,
    binary,
    version: variable.version,
    metadata: variable.metadata,
    source: variable.source_name,
    type_url: variable.value.type_url,
    json: variable.value.value.toString("utf8"),
  };
}

const ops = {
  async init({ session }) {
    return (
      await call("InitializeSession", { session_id: session, metadata: { source: "typescript" } })
    ).success;
  },
  async register({ session, name, type, value, constraints, binary }) {
    const { any, bytes } = pack(type, value, binary);
    const response = await call("RegisterVariable", {
      session_id: session,
      name,
      type,
      initial_value: any,
      initial_binary_value: bytes,
      constraints_json: constraints ? JSON.stringify(constraints) : "",
      metadata: { source: "typescript" },
    });
    return response.variable_id;
  },
  async get({ session, name, preferBinary }) {
    const response = await call("GetVariable", {
      session_id: session,
      variable_identifier: name,
      prefer_binary: !!preferBinary,
    });
    return record(response.variable);
  },
  async set({ session, name, type, value, binary, expectedVersion }) {
    const { any, bytes } = pack(type, value, binary);
    const response = await call("SetVariable", {
      session_id: session,
      variable_identifier: name,
      value: any,
      binary_value: bytes,
      expected_version: expectedVersion ?? 0,
      metadata: { source: "typescript" },
    });
    return response.new_version;
  },
  async delete({ session, name }) {
    return (await call("DeleteVariable", { session_id: session, variable_identifier: name }))
      .success;
  },
  // Sets the values one after another (the order a watcher must see).
  async sequence({ session, name, type, values }) {
    const versions = [];
    for (const value of values) versions.push(await ops.set({ session, name, type, value }));
    return versions;
  },
  // Compare-and-set increments, retrying on ABORTED: none may be lost.
  async casIncrement({ session, name, count }) {
    let conflicts = 0;
    for (let done = 0; done < count; ) {
      const current = await ops.get({ session, name });
      try {
        await ops.set({
          session,
          name,
          type: "integer",
          value: current.value + 1,
          expectedVersion: current.version,
        });
        done++;
      } catch (error) {
        if (error.code !== grpc.status.ABORTED) throw error;
        conflicts++;
      }
    }
    return { conflicts };
  },
};

// ---- RemoteState (the package's TypeScript client) ----
const SPECIAL = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  "-Infinity": Number.NEGATIVE_INFINITY,
};
const CAMEL = {
  min_length: "minLength",
  max_length: "maxLength",
  allowed_modules: "allowedModules",
};
let remote;
const remoteSessions = new Map();

async function remoteSession(session) {
  if (!remote) {
    const { RemoteState } = await import("@dspex/bridged-state");
    remote = new RemoteState({ address, ...(token ? { token } : {}) });
  }
  if (!remoteSessions.has(session))
    remoteSessions.set(session, unwrapResult(await remote.init({ sessionId: session })));
  return remoteSessions.get(session);
}

function unwrapResult(result) {
  if (result.ok) return result.value;
  const failure = new Error(result.error.message);
  failure.code = result.error.code;
  failure.details = result.error.message;
  throw failure;
}

const fromWire = (type, value) =>
  type === "float" && typeof value === "string" ? SPECIAL[value] : value;

function toWire(value) {
  if (typeof value === "number" && !Number.isFinite(value))
    return Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
  if (ArrayBuffer.isView(value)) return Array.from(value);
  if (Array.isArray(value)) return value.map(toWire);
  if (typeof value === "object" && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toWire(v)]));
  return value;
}

Object.assign(ops, {
  async rsRegister({ session, name, type, value, constraints }) {
    const state = await remoteSession(session);
    const camel = constraints
      ? Object.fromEntries(Object.entries(constraints).map(([k, v]) => [CAMEL[k] ?? k, v]))
      : undefined;
    const options = camel ? { constraints: camel } : {};
    return unwrapResult(
      await remote.registerVariable(state, name, type, fromWire(type, value), options),
    ).id;
  },
  async rsGet({ session, name }) {
    const record = unwrapResult(await remote.getVariableRecord(await remoteSession(session), name));
    return { ...record, value: toWire(record.value), constraints: toWire(record.constraints) };
  },
  async rsSet({ session, name, type, value, expectedVersion }) {
    const state = await remoteSession(session);
    const options = expectedVersion === undefined ? {} : { expectedVersion };
    return unwrapResult(
      await remote.setVariable(state, name, fromWire(type, value), undefined, options),
    ).version;
  },
  async rsCasIncrement({ session, name, count }) {
    const state = await remoteSession(session);
    let conflicts = 0;
    for (let done = 0; done < count; ) {
      const current = unwrapResult(await remote.getVariableRecord(state, name));
      const written = await remote.setVariable(state, name, current.value + 1, undefined, {
        expectedVersion: current.version,
      });
      if (written.ok) done++;
      else if (written.error.code === "version_conflict") conflicts++;
      else unwrapResult(written);
    }
    return { conflicts };
  },
});

// ---- The package's binary format (binary-format.ts), on its own: no server in between ----
let binaryFormat;
async function binary() {
  binaryFormat ??= await import("@dspex/bridged-state");
  return binaryFormat;
}

Object.assign(ops, {
  // encodeBinary(type, value, dtype) -> the JSON header and the bytes (base64).
  async binEncode({ type, value, dtype }) {
    const { header, bytes } = (await binary()).encodeBinary(type, value, dtype);
    return { header, bytes: bytes.toString("base64") };
  },
  // decodeBinary(type, header, bytes) -> the value as JSON, or the error message it answered.
  async binDecode({ type, header, bytes }) {
    const decoded = (await binary()).decodeBinary(type, header, Buffer.from(bytes, "base64"));
    if (!decoded.ok) return { ok: false, message: decoded.error.message };
    const value = decoded.value;
    return {
      ok: true,
      value: ArrayBuffer.isView(value)
        ? Array.from(value)
        : { shape: value.shape, data: Array.from(value.data) },
    };
  },
});

const lines = createInterface({ input: process.stdin });
lines.on("line", async (line) => {
  const request = JSON.parse(line);
  try {
    const result = await ops[request.op](request);
    process.stdout.write(`${JSON.stringify({ id: request.id, ok: true, result })}\n`);
  } catch (error) {
    const answer = {
      id: request.id,
      ok: false,
      code: error.code,
      details: error.details ?? String(error),
    };
    process.stdout.write(`${JSON.stringify(answer)}\n`);
  }
});
lines.on("close", () => {
  client.close();
});
