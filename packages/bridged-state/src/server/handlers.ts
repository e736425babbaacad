import {
  compilePattern,
  decodeConstraintsJson,
  err,
  isVariableType,
  type Metadata,
  ok,
  parseExport,
  type Result,
  type StateError,
  StateErrors,
} from "@dspex/state-provider";
import { define, EncodedValue } from "@dspex/state-provider/backend";
import type * as grpc from "@grpc/grpc-js";
import type { BridgeStore } from "../store/bridge-store.js";
import type { DecodedBatchSetRequest } from "../wire/batch-set-encoding.js";
import {
  decodeRegistrationValue,
  decodeWireValue,
  toTimestamp,
  toWireVariable,
} from "../wire/codec.js";
import type { Any__Output } from "../wire/generated/google/protobuf/Any.js";
import type { BatchSetVariablesResponse__Input } from "../wire/generated/snakepit/bridge/BatchSetVariablesResponse.js";
import type { BridgeServiceHandlers } from "../wire/generated/snakepit/bridge/BridgeService.js";
import type { RegisterVariableRequest__Output } from "../wire/generated/snakepit/bridge/RegisterVariableRequest.js";
import { errorTrailer, toStatus } from "../wire/status.js";
import { encodedBatchGetResponse, encodedGetResponse } from "./encoded-responses.js";
import { checkRequestLimits, type RequestLimits, refusalOf } from "./request-guard.js";
import { type WatchOptions, watch } from "./watch.js";

export interface HandlerOptions extends WatchOptions {
  readonly log: ((line: string) => void) | undefined;
}

type Respond<T> = grpc.sendUnaryData<T>;

function fail<T>(callback: Respond<T>, error: StateError): void {
  callback(toStatus(error) as grpc.ServiceError, null);
}

/** Plain string map from the wire (proto maps arrive as objects). */
function wireMetadata(map: Record<string, string> | undefined): Metadata {
  return map ?? {};
}

/** A wire value, decoded by the store's plan once it knows the variable's type. */
function encoded(any: Any__Output | null | undefined, binary: Buffer | undefined): EncodedValue {
  return new EncodedValue((type, variable) => decodeWireValue(type, any, binary, variable));
}

/** The wire's empty string is "no key". */
function requestIdOf(request: { request_id: string }): Result<string | undefined> {
  const { request_id: id } = request;
  if (id.length <= 128) return ok(id === "" ? undefined : id);
  return err(
    StateErrors.invalidArgument(`request_id is ${id.length} characters long (at most 128)`),
  );
}

/**
 * Every handler behind the request checks: a request that failed to decode, or breaks a
 * per-request limit, is answered INVALID_ARGUMENT before the handler runs, so it changes nothing.
 * A handler that throws (a bug) answers INTERNAL instead of leaving the call hanging.
 */
export function guarded(
  handlers: BridgeServiceHandlers,
  limits: RequestLimits,
): BridgeServiceHandlers {
  const wrapped: Record<string, unknown> = {};
  for (const [method, handler] of Object.entries(handlers)) {
    wrapped[method] = (
      call: { request: object; emit(event: "error", status: object): void },
      callback?: (error: object | null, value: null) => void,
    ) => {
      const refusal = refusalOf(call.request) ?? checkRequestLimits(call.request, limits);
      if (refusal !== undefined) {
        if (callback !== undefined) callback(toStatus(refusal), null);
        else call.emit("error", toStatus(refusal));
        return;
      }
      const done = (handler as (c: unknown, cb: unknown) => unknown)(call, callback);
      if (done instanceof Promise) {
        done.catch((error: unknown) => {
          console.error(`dspex-bridge: ${method} failed:`, error);
          const status = { code: 13, details: `${method} failed inside the bridge` };
          if (callback !== undefined) callback(status, null);
          else call.emit("error", status);
        });
      }
    };
  }
  return wrapped as unknown as BridgeServiceHandlers;
}

/** The BridgeService's methods over a `BridgeStore`: decode, ask the store, encode the answer. */
export function bridgeHandlers(store: BridgeStore, options: HandlerOptions): BridgeServiceHandlers {
  return {
    Ping(call, callback) {
      callback(null, { message: call.request.message, server_time: toTimestamp(Date.now()) });
    },

    async InitializeSession(call, callback) {
      const { session_id: sessionId, metadata } = call.request;
      // The response has no field for a generated id, so the caller must name the session.
      if (sessionId === "") {
        fail(callback, StateErrors.invalidArgument("InitializeSession needs a session_id"));
        return;
      }
      const created = await store.createSession(sessionId, wireMetadata(metadata));
      if (!created.ok) return fail(callback, created.error);
      options.log?.(`session ${created.value.id} initialized`);
      callback(null, {
        success: true,
        error_message: "",
        available_tools: {},
        initial_variables: {},
      });
    },

    async CleanupSession(call, callback) {
      const removed = await store.deleteSession(call.request.session_id);
      if (!removed.ok) return fail(callback, removed.error);
      options.log?.(`session ${call.request.session_id} cleaned up`);
      callback(null, { success: true, resources_cleaned: removed.value });
    },

    async GetSession(call, callback) {
      const session = await store.getSession(call.request.session_id);
      if (!session.ok) return fail(callback, session.error);
      callback(null, {
        session_id: session.value.id,
        metadata: session.value.metadata,
        created_at: toTimestamp(session.value.createdAt),
        variable_count: session.value.variableCount,
        tool_count: 0,
      });
    },

    async Heartbeat(call, callback) {
      const touched = await store.touch(call.request.session_id);
      // An unreachable store is not an answer about the session: the client retries elsewhere.
      if (!touched.ok && touched.error.code !== "session_not_found") {
        return fail(callback, touched.error);
      }
      callback(null, { server_time: toTimestamp(Date.now()), session_valid: touched.ok });
    },

    async GetVariable(call, callback) {
      const { session_id, variable_identifier, prefer_binary } = call.request;
      const record = await store.get(session_id, variable_identifier);
      if (!record.ok) return fail(callback, record.error);
      callback(null, encodedGetResponse(record.value, prefer_binary));
    },

    async SetVariable(call, callback) {
      const { session_id, variable_identifier, value, metadata, expected_version, binary_value } =
        call.request;
      const requestId = requestIdOf(call.request);
      if (!requestId.ok) return fail(callback, requestId.error);
      const written = await store.set(
        session_id,
        variable_identifier,
        encoded(value, binary_value),
        wireMetadata(metadata),
        // 0 is proto3's "unset": no expectation.
        {
          expectedVersion: expected_version === 0 ? undefined : expected_version,
          requestId: requestId.value,
        },
      );
      if (!written.ok) return fail(callback, written.error);
      callback(null, { success: true, error_message: "", new_version: written.value });
    },

    async GetVariables(call, callback) {
      const { session_id, variable_identifiers, prefer_binary } = call.request;
      const got = await store.getMany(session_id, variable_identifiers);
      if (!got.ok) return fail(callback, got.error);
      const missing = variable_identifiers.filter((identifier) => !got.value.has(identifier));
      callback(null, encodedBatchGetResponse(got.value, missing, prefer_binary));
    },

    SetVariables(call, callback) {
      // Decoded by hand (encoded-responses.ts installs decodeBatchSetRequest).
      return batchSet(store, call.request as unknown as DecodedBatchSetRequest, callback);
    },

    async RegisterVariable(call, callback) {
      const registered = await registerFromWire(store, call.request);
      if (!registered.ok) return fail(callback, registered.error);
      callback(null, { success: true, variable_id: registered.value, error_message: "" });
    },

    async ListVariables(call, callback) {
      const { session_id, pattern, prefer_binary } = call.request;
      const listed = await store.list(session_id);
      if (!listed.ok) return fail(callback, listed.error);
      const matches = pattern === "" ? undefined : compilePattern(pattern);
      const records =
        matches === undefined ? listed.value : listed.value.filter((r) => matches(r.name));
      callback(null, { variables: records.map((r) => toWireVariable(r, prefer_binary)) });
    },

    async DeleteVariable(call, callback) {
      const requestId = requestIdOf(call.request);
      if (!requestId.ok) return fail(callback, requestId.error);
      const deleted = await store.delete(
        call.request.session_id,
        call.request.variable_identifier,
        {
          requestId: requestId.value,
        },
      );
      if (!deleted.ok) return fail(callback, deleted.error);
      callback(null, { success: true, error_message: "" });
    },

    WatchVariables(call) {
      return watch(store, call, options);
    },

    GetExposedElixirTools(_call, callback) {
      callback(null, { tools: [] });
    },

    async ImportState(call, callback) {
      const { session_id } = call.request;
      let parsed: ReturnType<typeof parseExport>;
      try {
        parsed = parseExport(JSON.parse(call.request.export_json));
      } catch {
        parsed = err(StateErrors.invalidExport("", "export_json is not valid JSON"));
      }
      if (!parsed.ok) {
        // An unknown session is NOT_FOUND whatever is wrong with the document.
        const session = await store.touch(session_id);
        return fail(callback, session.ok ? parsed.error : session.error);
      }
      const imported = await store.import(session_id, parsed.value);
      if (!imported.ok) return fail(callback, imported.error);
      callback(null, { success: true, imported: imported.value });
    },

    async GetVariableHistory(call, callback) {
      const { session_id, variable_identifier, limit, prefer_binary } = call.request;
      if (limit < 0) {
        return fail(
          callback,
          StateErrors.invalidArgument(
            `GetVariableHistory expects limit ≥ 0 (0: every retained version), got ${limit}`,
          ),
        );
      }
      const records = await store.history(
        session_id,
        variable_identifier,
        limit === 0 ? undefined : limit,
      );
      if (!records.ok) return fail(callback, records.error);
      callback(null, { versions: records.value.map((r) => toWireVariable(r, prefer_binary)) });
    },
  };
}

/** Decodes a registration; an unknown session is NOT_FOUND whatever else is wrong with it. */
async function registerFromWire(
  store: BridgeStore,
  request: RegisterVariableRequest__Output,
): Promise<Result<string>> {
  const { session_id: sessionId, name, type } = request;
  const input = decodeRegistration(request, name, type);
  const requestId = requestIdOf(request);
  if (!input.ok || !requestId.ok) {
    const session = await store.touch(sessionId);
    if (!session.ok) return session;
    return input.ok ? err((requestId as { error: StateError }).error) : input;
  }
  const registered = await store.register(sessionId, input.value, { requestId: requestId.value });
  return registered.ok ? ok(registered.value.id) : registered;
}

function decodeRegistration(request: RegisterVariableRequest__Output, name: string, type: string) {
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
  return ok({
    name,
    type,
    value: value.value,
    constraints: constraints.value,
    metadata: wireMetadata(request.metadata),
  });
}

async function batchSet(
  store: BridgeStore,
  request: DecodedBatchSetRequest,
  callback: Respond<BatchSetVariablesResponse__Input>,
): Promise<void> {
  const { session_id, updates, binary_updates, metadata, atomic, expected_versions } = request;
  // The decoded Map becomes the values Map in place (no second Map of a hundred entries).
  const values = updates as Map<string, unknown>;
  for (const [identifier, any] of updates) {
    values.set(identifier, encoded(any as Any__Output | null, binary_updates.get(identifier)));
  }
  for (const [identifier, binary] of binary_updates) {
    if (!values.has(identifier)) values.set(identifier, encoded(undefined, binary));
  }
  // Only when the request expects something: an empty object would still be searched per item.
  let expectedVersions: Record<string, number> | undefined;
  for (const [identifier, version] of expected_versions) {
    if (version === 0) continue;
    expectedVersions ??= {};
    define(expectedVersions, identifier, version);
  }
  const requestId = requestIdOf(request);
  if (!requestId.ok) return fail(callback, requestId.error);
  const written = await store.update(session_id, values, wireMetadata(metadata), {
    atomic,
    ...(expectedVersions === undefined ? {} : { expectedVersions }),
    requestId: requestId.value,
  });
  if (!written.ok) return fail(callback, written.error);
  const { versions, failure } = written.value;
  if (failure === undefined) {
    callback(null, { success: true, errors: {}, new_versions: versions });
    return;
  }
  // Item failures travel in `errors` (as the protocol says), the full error in the trailer.
  const errors: Record<string, string> = {};
  for (const [identifier, item] of Object.entries(failure.failed))
    define(errors, identifier, item.message);
  callback(null, { success: false, errors, new_versions: versions }, errorTrailer(failure));
}
