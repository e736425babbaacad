import { createHash, timingSafeEqual } from "node:crypto";
import {
  compilePattern,
  decodeConstraintsJson,
  describeValue,
  encodeValueJson,
  err,
  isVariableType,
  type Metadata,
  ok,
  type Result,
  type StateError,
  StateErrors,
  typeUrlFor,
  type VariableEvent,
  type VariableRecord,
} from "@dspex/state-provider";
import { define, own } from "@dspex/state-provider/backend";
import * as grpc from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";
import { HealthImplementation } from "grpc-health-check";
import { MAX_TIMER_MS, numberOption } from "../options.js";
import {
  type PendingValue,
  SessionStore,
  type SessionStoreOptions,
} from "../store/session-store.js";
import {
  decodeRegistrationValue,
  decodeWireValue,
  toTimestamp,
  toWireVariable,
} from "../wire/codec.js";
import type { Any__Output } from "../wire/generated/google/protobuf/Any.js";
import type { BatchGetVariablesRequest__Output } from "../wire/generated/snakepit/bridge/BatchGetVariablesRequest.js";
import type { BatchGetVariablesResponse__Input } from "../wire/generated/snakepit/bridge/BatchGetVariablesResponse.js";
import type { BatchSetVariablesRequest__Output } from "../wire/generated/snakepit/bridge/BatchSetVariablesRequest.js";
import type { BatchSetVariablesResponse__Input } from "../wire/generated/snakepit/bridge/BatchSetVariablesResponse.js";
import type { BridgeServiceHandlers } from "../wire/generated/snakepit/bridge/BridgeService.js";
import type { GetVariableResponse__Input } from "../wire/generated/snakepit/bridge/GetVariableResponse.js";
import type { VariableUpdate__Input } from "../wire/generated/snakepit/bridge/VariableUpdate.js";
import type { WatchVariablesRequest__Output } from "../wire/generated/snakepit/bridge/WatchVariablesRequest.js";
import { loadBridgeProto, SERVICE_NAME } from "../wire/proto.js";
import { errorTrailer, STATUS_OF_CODE, toStatus } from "../wire/status.js";
import { Inspector } from "./inspector.js";
import {
  checkRequestLimits,
  type RequestLimits,
  refusalOf,
  requestLimits,
  withCheckedRequests,
} from "./request-guard.js";

export interface TlsOptions {
  /** PEM certificate chain. */
  readonly cert: string | Buffer;
  /** PEM private key. */
  readonly key: string | Buffer;
}

/** The limits (`maxSessionIdBytes`, `maxWatchersPerSession`, ...) are those of `RequestLimits`. */
export interface BridgeServerOptions extends Partial<RequestLimits> {
  /** The store to serve. Default: a new store with `storeOptions` (closed with the server). */
  readonly store?: SessionStore;
  readonly storeOptions?: SessionStoreOptions;
  /** Default `127.0.0.1`: only this machine. Bind wider only with a token and TLS. */
  readonly host?: string;
  /** Default 0: an ephemeral port (read it from `port` / `address`). */
  readonly port?: number;
  /** When set, every call must carry `authorization: Bearer <token>`. */
  readonly token?: string;
  readonly tls?: TlsOptions;
  /** Largest message received or sent, in bytes. Default 16 MiB. */
  readonly maxMessageBytes?: number;
  /** Interval of `heartbeat` messages on watch streams. Default 30 000 ms. */
  readonly heartbeatMs?: number;
  /** How long `close()` lets calls drain before it forces the server down. Default 5 000 ms. */
  readonly shutdownTimeoutMs?: number;
  /** Where the server logs a line when a session is initialized or cleaned up. Default: nowhere. */
  readonly log?: (line: string) => void;
  /**
   * Also serve the read-only inspector page over HTTP (`inspector.url`): sessions, variables
   * live, a chart per numeric variable. Binds 127.0.0.1 unless `host` says otherwise; behind the
   * same `token`.
   */
  readonly inspect?: { readonly port?: number; readonly host?: string };
}

export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
export const DEFAULT_HEARTBEAT_MS = 30_000;
/**
 * Ping policy of every bridge server: keepalive pings are welcome without calls in flight and
 * as often as this. The gRPC default (5 min, none without calls) answers a client pinging every
 * 10 s with GOAWAY `too_many_pings`.
 */
export const MIN_PING_INTERVAL_MS = 250;
const SERVER = "BridgeServer";

interface GuardState {
  shuttingDown: boolean;
  /**
   * Ends each open streaming call (health Watch, reflection, ...) with UNAVAILABLE: shutdown
   * uses it so those streams do not hold the drain until the force timeout.
   */
  readonly streams?: Set<() => void>;
}

const SHUTTING_DOWN = {
  code: STATUS_OF_CODE.unavailable,
  details: "dspex-bridge is shutting down",
};

/** Token checks compare digests in constant time, so timing tells nothing about the token. */
function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

function sameDigest(given: grpc.MetadataValue | undefined, expected: Buffer): boolean {
  return typeof given === "string" && timingSafeEqual(digest(given), expected);
}

/**
 * The grpc-js server every bridge runs on: message size limits, and an interceptor that answers
 * UNAVAILABLE while shutting down and UNAUTHENTICATED without the right token, for every service
 * on it (bridge, health, reflection). The benchmark builds its echo server with this too.
 */
export function createGrpcServer(
  options: { token?: string | undefined; maxMessageBytes?: number | undefined },
  guard: GuardState,
): grpc.Server {
  const maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const expected = options.token === undefined ? undefined : digest(`Bearer ${options.token}`);
  const interceptor: grpc.ServerInterceptor = (method, call) => {
    const streaming =
      guard.streams !== undefined && (method.responseStream || method.requestStream);
    let end: (() => void) | undefined;
    const listener = new grpc.ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        if (guard.shuttingDown) {
          call.sendStatus(SHUTTING_DOWN);
        } else if (
          expected !== undefined &&
          !sameDigest(metadata.get("authorization")[0], expected)
        ) {
          const given = metadata.get("authorization").length > 0;
          call.sendStatus({
            code: STATUS_OF_CODE.unauthenticated,
            details: given
              ? "dspex-bridge: wrong bearer token in authorization metadata"
              : "dspex-bridge: missing authorization metadata (Bearer token required)",
          });
        } else {
          if (streaming) {
            end = () => intercepting.sendStatus(SHUTTING_DOWN);
            guard.streams?.add(end);
          }
          next(metadata);
        }
      })
      .withOnCancel(() => {
        if (end !== undefined) guard.streams?.delete(end);
      })
      .build();
    const responder = new grpc.ResponderBuilder().withStart((next) => next(listener));
    // Unary calls (the hot path) skip the bookkeeping: they drain by themselves.
    if (streaming) {
      responder.withSendStatus((status, next) => {
        if (end !== undefined) guard.streams?.delete(end);
        next(status);
      });
    }
    const intercepting = new grpc.ServerInterceptingCall(call, responder.build());
    return intercepting;
  };
  return new grpc.Server({
    "grpc.max_receive_message_length": maxBytes,
    "grpc.max_send_message_length": maxBytes,
    // grpc-js 1.14 leaves ping handling to Node's http2 (it acks every ping), so this states the
    // policy for the day it enforces one, as gRPC core and grpc-go servers do.
    "grpc.keepalive_permit_without_calls": 1,
    "grpc.http2.min_ping_interval_without_data_ms": MIN_PING_INTERVAL_MS,
    interceptors: [interceptor],
  });
}

export function serverCredentials(tls: TlsOptions | undefined): grpc.ServerCredentials {
  if (tls === undefined) return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(
    null,
    [{ cert_chain: Buffer.from(tls.cert), private_key: Buffer.from(tls.key) }],
    false,
  );
}

/** Binds `server` and answers the bound port. */
export function bind(
  server: grpc.Server,
  host: string,
  port: number,
  credentials: grpc.ServerCredentials,
): Promise<number> {
  const target =
    host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) => {
    server.bindAsync(target, credentials, (error, bound) =>
      error ? reject(error) : resolve(bound),
    );
  });
}

type Respond<T> = grpc.sendUnaryData<T>;

/**
 * Reads are the hot path and records are immutable, so a GetVariable answer is encoded once per
 * record version and its bytes are sent as they are (the service's serializer passes Buffers
 * through). A Buffer stands in for the response object only inside this module.
 */
const encodedAnswers = {
  json: new WeakMap<VariableRecord, Buffer>(),
  binary: new WeakMap<VariableRecord, Buffer>(),
};
let serializeGetResponse: ((value: object) => Buffer) | undefined;

function encodedGetResponse(
  record: VariableRecord,
  preferBinary: boolean,
): GetVariableResponse__Input {
  const cache = preferBinary ? encodedAnswers.binary : encodedAnswers.json;
  let bytes = cache.get(record);
  if (bytes === undefined) {
    const serialize = serializeGetResponse;
    if (serialize === undefined) throw new Error("the bridge service definition was not prepared");
    bytes = serialize({ variable: toWireVariable(record, preferBinary), from_cache: false });
    cache.set(record, bytes);
  }
  return bytes as unknown as GetVariableResponse__Input;
}

/** A record's encoded `Variable`: field 1 of its cached GetVariable answer. */
function encodedVariable(record: VariableRecord, preferBinary: boolean): Buffer {
  const answer = encodedGetResponse(record, preferBinary) as unknown as Buffer;
  const [length, at] = readVarint(answer, 1);
  return answer.subarray(at, at + length);
}

/**
 * A GetVariables answer assembled from each record's encoded `Variable`, so a batch read costs
 * copying bytes: `variables` (field 1) is a map, each entry a message { key = 1, value = 2 };
 * `missing_variables` is field 2. Identifiers are the request's, which the request guard
 * checked as UTF-8, so they encode back to the same bytes.
 */
function encodedBatchGetResponse(
  found: ReadonlyMap<string, VariableRecord>,
  missing: readonly string[],
  preferBinary: boolean,
): BatchGetVariablesResponse__Input {
  const fields: [field: number, parts: Buffer[]][] = [];
  for (const [identifier, record] of found) {
    const key = Buffer.from(identifier, "utf8");
    const value = encodedVariable(record, preferBinary);
    fields.push([1, [tagged(1, key.length), key, tagged(2, value.length), value]]);
  }
  for (const identifier of missing) {
    const text = Buffer.from(identifier, "utf8");
    fields.push([2, [text]]);
  }
  const parts: Buffer[] = [];
  for (const [field, payload] of fields) {
    let length = 0;
    for (const part of payload) length += part.length;
    parts.push(tagged(field, length), ...payload);
  }
  return Buffer.concat(parts) as unknown as BatchGetVariablesResponse__Input;
}

/** The tag (wire type 2) and length varint of a length-delimited field numbered below 16. */
function tagged(field: number, length: number): Buffer {
  const bytes = [(field << 3) | 2];
  let value = length;
  while (value >= 0x80) {
    bytes.push((value & 0x7f) | 0x80);
    value = Math.floor(value / 128);
  }
  bytes.push(value);
  return Buffer.from(bytes);
}

function readVarint(buffer: Buffer, from: number): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  let at = from;
  for (;;) {
    const byte = buffer[at++] as number;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return [value, at];
    scale *= 128;
  }
}

function withPreEncodedResponses(service: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const get = service.GetVariable;
  const getMany = service.GetVariables;
  if (get === undefined || getMany === undefined)
    throw new Error("the bridge .proto has no GetVariable or GetVariables");
  serializeGetResponse = get.responseSerialize as (value: object) => Buffer;
  const passBuffers =
    (original: grpc.serialize<unknown>) =>
    (value: unknown): Buffer =>
      Buffer.isBuffer(value) ? value : original(value);
  return {
    ...service,
    GetVariable: { ...get, responseSerialize: passBuffers(get.responseSerialize) },
    GetVariables: { ...getMany, responseSerialize: passBuffers(getMany.responseSerialize) },
  };
}

function fail<T>(callback: Respond<T>, error: StateError): void {
  callback(toStatus(error) as grpc.ServiceError, null);
}

/** Plain string map from the wire (proto maps arrive as objects). */
function wireMetadata(map: Record<string, string> | undefined): Metadata {
  return map ?? {};
}

/**
 * The gRPC BridgeService over a SessionStore (bridge-protocol.md), with health checking and
 * server reflection on the same port. Start it with `BridgeServer.start(options)`.
 */
export class BridgeServer {
  readonly store: SessionStore;
  /** The per-request and per-connection limits in force. */
  readonly limits: RequestLimits;
  readonly host: string;
  readonly port: number;
  readonly #server: grpc.Server;
  readonly #guard: GuardState;
  readonly #health: HealthImplementation;
  readonly #ownsStore: boolean;
  readonly #shutdownTimeoutMs: number;
  /** The `end` of every open watch stream (the handlers add and remove them). */
  readonly #watchers: Set<(status?: Partial<grpc.StatusObject>) => void>;
  /** The inspector page, when `inspect` was given. */
  readonly inspector: Inspector | undefined;
  #closing: Promise<void> | undefined;

  private constructor(parts: {
    store: SessionStore;
    ownsStore: boolean;
    host: string;
    port: number;
    server: grpc.Server;
    guard: GuardState;
    health: HealthImplementation;
    shutdownTimeoutMs: number;
    watchers: Set<(status?: Partial<grpc.StatusObject>) => void>;
    limits: RequestLimits;
    inspector: Inspector | undefined;
  }) {
    this.inspector = parts.inspector;
    this.#watchers = parts.watchers;
    this.limits = parts.limits;
    this.store = parts.store;
    this.#ownsStore = parts.ownsStore;
    this.host = parts.host;
    this.port = parts.port;
    this.#server = parts.server;
    this.#guard = parts.guard;
    this.#health = parts.health;
    this.#shutdownTimeoutMs = parts.shutdownTimeoutMs;
  }

  /** Starts a server; resolves once it accepts connections. */
  static async start(options: BridgeServerOptions = {}): Promise<BridgeServer> {
    // A bad option throws (a 0 heartbeat would flood every watch stream).
    const heartbeatMs = numberOption(
      SERVER,
      "heartbeatMs",
      options.heartbeatMs,
      DEFAULT_HEARTBEAT_MS,
      {
        max: MAX_TIMER_MS,
      },
    );
    numberOption(SERVER, "maxMessageBytes", options.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES);
    const shutdownTimeoutMs = numberOption(
      SERVER,
      "shutdownTimeoutMs",
      options.shutdownTimeoutMs,
      5_000,
      {
        allowZero: true,
        max: MAX_TIMER_MS,
      },
    );
    const limits = requestLimits(SERVER, options);
    const ownsStore = options.store === undefined;
    const store = options.store ?? new SessionStore(options.storeOptions);
    const host = options.host ?? "127.0.0.1";
    const guard: GuardState = { shuttingDown: false, streams: new Set() };
    const server = createGrpcServer(options, guard);
    const { definition, grpcObject } = loadBridgeProto();
    const watchers = new Set<(status?: Partial<grpc.StatusObject>) => void>();
    const handlers = bridgeHandlers(store, {
      heartbeatMs,
      watchers,
      log: options.log,
      limits,
      watchersBySession: new Map(),
      streamsByConnection: new Map(),
    });
    server.addService(
      withCheckedRequests(
        withPreEncodedResponses(grpcObject.snakepit.bridge.BridgeService.service),
        definition,
        "snakepit.bridge",
        limits,
      ),
      guarded(handlers, limits),
    );
    const health = new HealthImplementation({ "": "SERVING", [SERVICE_NAME]: "SERVING" });
    health.addToServer(server);
    new ReflectionService(definition).addToServer(server);
    let port: number;
    let inspector: Inspector | undefined;
    try {
      port = await bind(server, host, options.port ?? 0, serverCredentials(options.tls));
      if (options.inspect !== undefined) {
        inspector = await Inspector.start({
          store,
          ...options.inspect,
          ...(options.token === undefined ? {} : { token: options.token }),
        }).catch((error: unknown) => {
          server.forceShutdown();
          throw error;
        });
      }
    } catch (error) {
      if (ownsStore) store.close();
      throw error;
    }
    return new BridgeServer({
      store,
      ownsStore,
      host,
      port,
      server,
      guard,
      health,
      shutdownTimeoutMs,
      watchers,
      limits,
      inspector,
    });
  }

  /** `host:port` as a client dials it. */
  get address(): string {
    return this.host.includes(":") ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`;
  }

  get closing(): boolean {
    return this.#guard.shuttingDown;
  }

  /**
   * Graceful shutdown: new calls answer UNAVAILABLE, health turns NOT_SERVING, watch streams end,
   * running calls drain; after `shutdownTimeoutMs` the rest is cut. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.#guard.shuttingDown = true;
    this.#health.setStatus("", "NOT_SERVING");
    this.#health.setStatus(SERVICE_NAME, "NOT_SERVING");
    // UNAVAILABLE, not OK: a watcher must be able to tell a shutdown from its session ending.
    for (const end of [...this.#watchers]) end(SHUTTING_DOWN);
    await this.inspector?.close();
    // Other streams (health Watch after its NOT_SERVING, reflection) end the same way.
    for (const end of [...(this.#guard.streams ?? [])]) end();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.#server.forceShutdown();
        resolve();
      }, this.#shutdownTimeoutMs);
      this.#server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
    if (this.#ownsStore) this.store.close();
  }
}

interface HandlerOptions {
  readonly heartbeatMs: number;
  /** Each open watch stream registers its `end` here so shutdown can end it. */
  readonly watchers: Set<(status?: Partial<grpc.StatusObject>) => void>;
  readonly log: ((line: string) => void) | undefined;
  readonly limits: RequestLimits;
  /** Open watch streams per session and per client connection (peer address), for the limits. */
  readonly watchersBySession: Map<string, number>;
  readonly streamsByConnection: Map<string, number>;
}

/**
 * Every handler behind the request checks: a request that failed to decode, or breaks a
 * per-request limit, is answered INVALID_ARGUMENT before the handler runs, so it changes nothing.
 */
function guarded(handlers: BridgeServiceHandlers, limits: RequestLimits): BridgeServiceHandlers {
  const wrapped: Record<string, unknown> = {};
  for (const [method, handler] of Object.entries(handlers)) {
    wrapped[method] = (
      call: { request: object; emit(event: "error", status: object): void },
      callback?: (error: object, value: null) => void,
    ) => {
      const refusal = refusalOf(call.request) ?? checkRequestLimits(call.request, limits);
      if (refusal === undefined) {
        (handler as (c: unknown, cb: unknown) => void)(call, callback);
      } else if (callback !== undefined) {
        callback(toStatus(refusal), null);
      } else {
        call.emit("error", toStatus(refusal));
      }
    };
  }
  return wrapped as unknown as BridgeServiceHandlers;
}

function bridgeHandlers(store: SessionStore, options: HandlerOptions): BridgeServiceHandlers {
  return {
    Ping(call, callback) {
      callback(null, { message: call.request.message, server_time: toTimestamp(Date.now()) });
    },

    InitializeSession(call, callback) {
      const { session_id: sessionId, metadata } = call.request;
      // The response has no field for a generated id, so the caller must name the session.
      if (sessionId === "") {
        fail(callback, StateErrors.invalidArgument("InitializeSession needs a session_id"));
        return;
      }
      const created = store.createSession(sessionId, { metadata: wireMetadata(metadata) });
      if (!created.ok) return fail(callback, created.error);
      options.log?.(`session ${created.value.id} initialized`);
      callback(null, {
        success: true,
        error_message: "",
        available_tools: {},
        initial_variables: {},
      });
    },

    CleanupSession(call, callback) {
      const removed = store.deleteSession(call.request.session_id);
      if (!removed.ok) return fail(callback, removed.error);
      options.log?.(`session ${call.request.session_id} cleaned up`);
      callback(null, { success: true, resources_cleaned: removed.value });
    },

    GetSession(call, callback) {
      const session = store.getSession(call.request.session_id);
      if (!session.ok) return fail(callback, session.error);
      callback(null, {
        session_id: session.value.id,
        metadata: session.value.metadata,
        created_at: toTimestamp(session.value.createdAt),
        variable_count: session.value.variableCount,
        tool_count: 0,
      });
    },

    Heartbeat(call, callback) {
      callback(null, {
        server_time: toTimestamp(Date.now()),
        session_valid: store.touch(call.request.session_id),
      });
    },

    GetVariable(call, callback) {
      const { session_id, variable_identifier, prefer_binary } = call.request;
      const record = store.get(session_id, variable_identifier);
      if (!record.ok) return fail(callback, record.error);
      callback(null, encodedGetResponse(record.value, prefer_binary));
    },

    SetVariable(call, callback) {
      const { session_id, variable_identifier, value, metadata, expected_version, binary_value } =
        call.request;
      const written = store.setPending(
        session_id,
        variable_identifier,
        pendingValue(store, session_id, variable_identifier, value, binary_value),
        wireMetadata(metadata),
        // 0 is proto3's "unset": no expectation.
        expected_version === 0 ? undefined : expected_version,
      );
      if (!written.ok) return fail(callback, written.error);
      callback(null, { success: true, error_message: "", new_version: written.value.version });
    },

    GetVariables(call, callback) {
      batchGet(store, call.request, callback);
    },

    SetVariables(call, callback) {
      batchSet(store, call.request, callback);
    },

    RegisterVariable(call, callback) {
      const { session_id, name, type } = call.request;
      const registered = registerFromWire(store, call.request, session_id, name, type);
      if (!registered.ok) return fail(callback, registered.error);
      callback(null, { success: true, variable_id: registered.value, error_message: "" });
    },

    ListVariables(call, callback) {
      const { session_id, pattern, prefer_binary } = call.request;
      const listed = store.list(session_id, pattern === "" ? undefined : compilePattern(pattern));
      if (!listed.ok) return fail(callback, listed.error);
      callback(null, { variables: listed.value.map((r) => toWireVariable(r, prefer_binary)) });
    },

    DeleteVariable(call, callback) {
      const deleted = store.delete(call.request.session_id, call.request.variable_identifier);
      if (!deleted.ok) return fail(callback, deleted.error);
      callback(null, { success: true, error_message: "" });
    },

    WatchVariables(call) {
      watch(store, call, options);
    },

    GetExposedElixirTools(_call, callback) {
      callback(null, { tools: [] });
    },

    ImportState(call, callback) {
      let document: unknown;
      try {
        document = JSON.parse(call.request.export_json);
      } catch {
        return fail(callback, StateErrors.invalidExport("", "export_json is not valid JSON"));
      }
      const imported = store.import(call.request.session_id, document);
      if (!imported.ok) return fail(callback, imported.error);
      callback(null, { success: true, imported: imported.value });
    },

    GetVariableHistory(call, callback) {
      const { session_id, variable_identifier, limit, prefer_binary } = call.request;
      if (limit < 0) {
        return fail(
          callback,
          StateErrors.invalidArgument(
            `GetVariableHistory expects limit ≥ 0 (0: every retained version), got ${limit}`,
          ),
        );
      }
      const records = store.history(
        session_id,
        variable_identifier,
        limit === 0 ? undefined : limit,
      );
      if (!records.ok) return fail(callback, records.error);
      callback(null, { versions: records.value.map((r) => toWireVariable(r, prefer_binary)) });
    },
  };
}

function registerFromWire(
  store: SessionStore,
  request: {
    initial_value: Parameters<typeof decodeRegistrationValue>[1];
    initial_binary_value: Buffer;
    constraints_json: string;
    metadata: Record<string, string>;
  },
  sessionId: string,
  name: string,
  type: string,
): Result<string> {
  // Session first: an unknown session is NOT_FOUND whatever else is wrong with the request.
  if (!store.touch(sessionId)) return err(StateErrors.sessionNotFound(sessionId));
  if (!isVariableType(type)) return err(StateErrors.unknownType(type, name));
  const constraints = decodeConstraintsJson(type, request.constraints_json, name);
  if (!constraints.ok) return constraints;
  const value = decodeRegistrationValue(
    type,
    request.initial_value,
    request.initial_binary_value,
    name,
  );
  if (!value.ok) return value;
  const registered = store.register(sessionId, {
    name,
    type,
    value: value.value,
    constraints: constraints.value,
    metadata: wireMetadata(request.metadata),
  });
  return registered.ok ? ok(registered.value.id) : registered;
}

/**
 * A wire value decoded for the variable it is meant for. An unknown variable gets a placeholder:
 * the store reports it as not found (before any decoding error, and inside a batch as an item).
 */
function pendingValue(
  store: SessionStore,
  sessionId: string,
  identifier: string,
  any: Any__Output | null | undefined,
  binary: Buffer | undefined,
): PendingValue {
  const current = store.peekByIdentifier(sessionId, identifier);
  if (current === undefined) return { value: undefined };
  const decoded = decodeWireValue(current.type, any, binary, current.name);
  return decoded.ok ? { value: decoded.value } : { error: decoded.error };
}

function batchGet(
  store: SessionStore,
  request: BatchGetVariablesRequest__Output,
  callback: Respond<BatchGetVariablesResponse__Input>,
): void {
  const got = store.getMany(request.session_id, request.variable_identifiers);
  if (!got.ok) {
    fail(callback, got.error);
    return;
  }
  callback(
    null,
    encodedBatchGetResponse(got.value.found, [...got.value.missing], request.prefer_binary),
  );
}

function batchSet(
  store: SessionStore,
  request: BatchSetVariablesRequest__Output,
  callback: Respond<BatchSetVariablesResponse__Input>,
): void {
  const { session_id, updates, binary_updates, metadata, atomic, expected_versions } = request;
  if (!store.touch(session_id)) {
    fail(callback, StateErrors.sessionNotFound(session_id));
    return;
  }
  const pending = new Map<string, PendingValue>();
  const identifiers = new Set([...Object.keys(updates), ...Object.keys(binary_updates)]);
  for (const identifier of identifiers) {
    pending.set(
      identifier,
      pendingValue(
        store,
        session_id,
        identifier,
        own(updates, identifier),
        own(binary_updates, identifier),
      ),
    );
  }
  const expectedVersions: Record<string, number> = {};
  for (const [identifier, version] of Object.entries(expected_versions)) {
    if (version !== 0) define(expectedVersions, identifier, version);
  }
  const written = store.update(session_id, pending, wireMetadata(metadata), {
    atomic,
    expectedVersions,
  });
  if (written.ok) {
    callback(null, { success: true, errors: {}, new_versions: written.value });
    return;
  }
  const error = written.error;
  if (error.code !== "partial_failure") {
    fail(callback, error);
    return;
  }
  // Item failures travel in `errors` (as the protocol says), the full error in the trailer.
  const errors: Record<string, string> = {};
  for (const [identifier, failure] of Object.entries(error.failed))
    define(errors, identifier, failure.message);
  const versions: Record<string, number> = {};
  for (const identifier of error.applied) {
    const record = store.peekByIdentifier(session_id, identifier);
    if (record !== undefined) define(versions, identifier, record.version);
  }
  callback(null, { success: false, errors, new_versions: versions }, errorTrailer(error));
}

function heartbeatMessage(): VariableUpdate__Input {
  return { variable_id: "", update_type: "heartbeat", timestamp: toTimestamp(Date.now()) };
}

const UPDATE_TYPE: Readonly<Record<VariableEvent["kind"], string>> = {
  registered: "registered",
  updated: "value_change",
  deleted: "deleted",
};

function watch(
  store: SessionStore,
  call: grpc.ServerWritableStream<WatchVariablesRequest__Output, VariableUpdate__Input>,
  options: HandlerOptions,
): void {
  const { session_id, variable_identifiers, include_initial_values, pattern, prefer_binary } =
    call.request;
  const wanted = new Set(variable_identifiers);
  const byPattern = pattern === "" ? undefined : compilePattern(pattern);
  const everything = wanted.size === 0 && byPattern === undefined;
  const matches = (id: string, name: string) =>
    everything || wanted.has(id) || wanted.has(name) || (byPattern?.(name) ?? false);

  const overLimit = watchLimitReached(call.getPeer(), session_id, options);
  if (overLimit !== undefined) {
    call.emit("error", toStatus(overLimit));
    return;
  }
  let ended = false;
  const updateOf = (event: VariableEvent, conflated: boolean): VariableUpdate__Input => {
    const update: VariableUpdate__Input = {
      variable_id: event.id,
      // The committed record itself: true constraints and timestamps even for a change a
      // later one in the same batch superseded, and for deletions.
      variable: toWireVariable(event.record, prefer_binary),
      update_source: event.source,
      update_metadata: event.metadata,
      timestamp: toTimestamp(event.timestamp),
      update_type: UPDATE_TYPE[event.kind],
    };
    if (conflated) update.conflated = true;
    else if (event.previousValue !== undefined) {
      update.previous_value = {
        type_url: typeUrlFor(event.type),
        value: Buffer.from(encodeValueJson(event.type, event.previousValue), "utf8"),
      };
    }
    return update;
  };
  /*
   * Backpressure: messages written but not yet taken by the connection are counted in bytes.
   * Past maxWatchBufferBytes, changes wait in `behind`, one entry per variable (its latest
   * event), and go out marked conflated once the buffer is down to half. A watcher that does not
   * read thus holds that many bytes (plus one message) and one pending event per variable of the
   * session, however many changes happen.
   */
  const maxBuffered = options.limits.maxWatchBufferBytes;
  const behind = new Map<string, VariableEvent>();
  let buffered = 0;
  const send = (update: VariableUpdate__Input) => {
    const size = approximateBytes(update);
    buffered += size;
    call.write(update, () => {
      buffered -= size;
      if (behind.size > 0 && buffered <= maxBuffered / 2) catchUp();
    });
  };
  const catchUp = () => {
    for (const [id, event] of behind) {
      if (buffered > maxBuffered || ended) return;
      behind.delete(id);
      send(updateOf(event, true));
    }
  };
  // Subscribe before the snapshot, so no change falls between the two.
  const subscription = store.subscribe(session_id, "*", (event) => {
    if (ended || !matches(event.id, event.name)) return;
    if (buffered <= maxBuffered && behind.size === 0) return send(updateOf(event, false));
    // A variable registered while behind stays "registered" to the watcher until it hears of it.
    const pending = behind.get(event.id);
    behind.delete(event.id);
    behind.set(
      event.id,
      pending?.kind === "registered" && event.kind === "updated"
        ? { ...event, kind: "registered" }
        : event,
    );
  });
  if (!subscription.ok) {
    call.emit("error", toStatus(subscription.error));
    return;
  }
  const releaseSlot = takeWatchSlot(call.getPeer(), session_id, options);
  const onEnd = store.onSessionEnd(session_id, () => end());
  let heartbeat: NodeJS.Timeout | undefined;
  function stop(): void {
    if (ended) return;
    ended = true;
    releaseSlot();
    if (subscription.ok) store.unsubscribe(session_id, subscription.value);
    if (onEnd.ok) onEnd.value();
    if (heartbeat !== undefined) clearInterval(heartbeat);
    behind.clear();
    options.watchers.delete(end);
  }
  /** Ends the stream: OK when the session ended, the given status otherwise. */
  function end(status?: Partial<grpc.StatusObject>): void {
    if (ended) return;
    stop();
    if (status === undefined) call.end();
    else call.emit("error", status);
  }
  options.watchers.add(end);
  call.on("cancelled", stop);
  call.on("error", stop);
  // Headers go out once the subscription exists: a client may treat them as "watching now".
  call.sendMetadata(new grpc.Metadata());
  if (include_initial_values) {
    const listed = store.list(session_id);
    if (listed.ok) {
      for (const record of listed.value) {
        if (!matches(record.id, record.name)) continue;
        // The snapshot is written whole (one message per variable, bounded by the session).
        send({
          variable_id: record.id,
          variable: toWireVariable(record, prefer_binary),
          update_source: record.source,
          update_metadata: record.metadata,
          timestamp: toTimestamp(Date.now()),
          update_type: "initial_value",
        });
      }
    }
    // One heartbeat right after the snapshot marks its end: a re-connecting client then knows
    // which variables are gone without waiting a whole heartbeat interval.
    send(heartbeatMessage());
  }
  heartbeat = setInterval(() => {
    // A connected watcher is a use of the session: it keeps an otherwise idle session alive.
    if (!store.touch(session_id)) return end();
    // A watcher that is behind gets no heartbeats on top: the catch-up follows on 'drain'.
    if (buffered <= maxBuffered) send(heartbeatMessage());
  }, options.heartbeatMs);
  heartbeat.unref();
}

/** The limit an extra watch stream on this session or connection would break, if any. */
function watchLimitReached(
  peer: string,
  sessionId: string,
  options: HandlerOptions,
): StateError | undefined {
  const { maxWatchersPerSession, maxStreamsPerConnection } = options.limits;
  const onSession = options.watchersBySession.get(sessionId) ?? 0;
  if (onSession >= maxWatchersPerSession) {
    return StateErrors.limitExceeded(
      "maxWatchersPerSession",
      maxWatchersPerSession,
      `session ${describeValue(sessionId)} already has ${onSession} open watch streams`,
    );
  }
  const onConnection = options.streamsByConnection.get(peer) ?? 0;
  if (onConnection >= maxStreamsPerConnection) {
    return StateErrors.limitExceeded(
      "maxStreamsPerConnection",
      maxStreamsPerConnection,
      `this connection already has ${onConnection} open watch streams`,
    );
  }
  return undefined;
}

/** Counts an open watch stream; the answer gives the slot back (once). */
function takeWatchSlot(peer: string, sessionId: string, options: HandlerOptions): () => void {
  const add = (map: Map<string, number>, key: string, delta: number) => {
    const next = (map.get(key) ?? 0) + delta;
    if (next <= 0) map.delete(key);
    else map.set(key, next);
  };
  add(options.watchersBySession, sessionId, 1);
  add(options.streamsByConnection, peer, 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    add(options.watchersBySession, sessionId, -1);
    add(options.streamsByConnection, peer, -1);
  };
}

/** Roughly the bytes a watch message takes on the wire: its value payloads and some framing. */
function approximateBytes(update: VariableUpdate__Input): number {
  const variable = update.variable as
    | { value?: { value?: Uint8Array }; binary_value?: Uint8Array }
    | undefined;
  const previous = update.previous_value as { value?: Uint8Array } | undefined;
  return (
    256 +
    (variable?.value?.value?.byteLength ?? 0) +
    (variable?.binary_value?.byteLength ?? 0) +
    (previous?.value?.byteLength ?? 0)
  );
}
