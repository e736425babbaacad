import { isUtf8 } from "node:buffer";
import { describeValue, type StateError, StateErrors } from "@dspex/state-provider";
import type * as grpc from "@grpc/grpc-js";
import type * as protoLoader from "@grpc/proto-loader";
import { numberOption } from "../options.js";

/*
 * What every request must be before a handler sees it: well-formed protobuf of its type (wire
 * types as declared, strings valid UTF-8) and within the per-request limits. A request that is
 * not is refused with INVALID_ARGUMENT naming the field or the limit, and nothing runs.
 */

/** Per-request and per-connection limits of a BridgeServer. */
export interface RequestLimits {
  /** Longest session id, in UTF-8 bytes. Default 1024. */
  readonly maxSessionIdBytes: number;
  /** Longest variable identifier (name or id) in a request, in UTF-8 bytes. Default 1024. */
  readonly maxIdentifierBytes: number;
  /** Most identifiers in one GetVariables, SetVariables or WatchVariables. Default 10 000. */
  readonly maxIdentifiersPerRequest: number;
  /** Longest glob pattern (ListVariables, WatchVariables), in UTF-8 bytes. Default 1024. */
  readonly maxPatternBytes: number;
  /** Most open WatchVariables streams on one session. Default 128. */
  readonly maxWatchersPerSession: number;
  /** Most open WatchVariables streams on one client connection. Default 128. */
  readonly maxStreamsPerConnection: number;
  /**
   * Bytes a watch stream may have written but not yet sent before further changes are conflated
   * (one pending message per variable, the latest). Default 1 MiB.
   */
  readonly maxWatchBufferBytes: number;
}

export const DEFAULT_REQUEST_LIMITS: RequestLimits = Object.freeze({
  maxSessionIdBytes: 1024,
  maxIdentifierBytes: 1024,
  maxIdentifiersPerRequest: 10_000,
  maxPatternBytes: 1024,
  maxWatchersPerSession: 128,
  maxStreamsPerConnection: 128,
  maxWatchBufferBytes: 1024 * 1024,
});

/** The limits from options (a bad one throws a TypeError naming it). */
export function requestLimits(
  server: string,
  given: Partial<RequestLimits> | undefined,
): RequestLimits {
  const limits = {} as Record<keyof RequestLimits, number>;
  for (const key of Object.keys(DEFAULT_REQUEST_LIMITS) as Array<keyof RequestLimits>) {
    limits[key] = numberOption(server, key, given?.[key], DEFAULT_REQUEST_LIMITS[key]);
  }
  return Object.freeze(limits);
}

const REFUSED: unique symbol = Symbol("dspex.refusedRequest");
type Refused = { readonly [REFUSED]: StateError };

/** The refusal a request deserializer left instead of a request, if any. */
export function refusalOf(request: unknown): StateError | undefined {
  return typeof request === "object" && request !== null && REFUSED in request
    ? (request as Refused)[REFUSED]
    : undefined;
}

type Descriptor = {
  name: string;
  field: Array<{ name: string; number: number; label: string; type: string; typeName: string }>;
  nestedType: Descriptor[];
};

const LENGTH_DELIMITED = new Set(["TYPE_STRING", "TYPE_BYTES", "TYPE_MESSAGE"]);
const FIXED64 = new Set(["TYPE_DOUBLE", "TYPE_FIXED64", "TYPE_SFIXED64"]);
const FIXED32 = new Set(["TYPE_FLOAT", "TYPE_FIXED32", "TYPE_SFIXED32"]);
const MAX_DEPTH = 16;

function wireTypeOf(type: string): number {
  if (LENGTH_DELIMITED.has(type)) return 2;
  if (FIXED64.has(type)) return 1;
  if (FIXED32.has(type)) return 5;
  return 0;
}

class Malformed extends Error {}

/** Request fields that each name one identifier per entry (counted for maxIdentifiersPerRequest). */
const IDENTIFIER_FIELDS = new Set([
  "variable_identifiers",
  "updates",
  "binary_updates",
  "expected_versions",
]);

/** How many identifier entries the top level held, when more than the limit. */
class TooManyIdentifiers extends Error {
  constructor(readonly count: number) {
    super("too many identifiers");
  }
}

/** A descriptor's fields as the check needs them, looked up by number without a search. */
interface CheckedMessage {
  readonly name: string;
  readonly fields: Map<number, CheckedField>;
}

interface CheckedField {
  readonly name: string;
  readonly wire: number;
  /** Repeated scalars may also come packed (wire type 2). */
  readonly packable: boolean;
  readonly utf8: boolean;
  readonly identifier: boolean;
  /** The nested message's checks, for message fields of a known type. */
  readonly message: CheckedMessage | undefined;
}

/** Compiles a descriptor (and those it nests) once; recursive types share one entry. */
function compileDescriptor(
  descriptor: Descriptor,
  resolve: (typeName: string, scope: Descriptor) => Descriptor | undefined,
  compiled = new Map<Descriptor, CheckedMessage>(),
): CheckedMessage {
  const existing = compiled.get(descriptor);
  if (existing !== undefined) return existing;
  const fields = new Map<number, CheckedField>();
  const message: CheckedMessage = { name: descriptor.name, fields };
  compiled.set(descriptor, message);
  for (const field of descriptor.field) {
    const wire = wireTypeOf(field.type);
    const inner = field.type === "TYPE_MESSAGE" ? resolve(field.typeName, descriptor) : undefined;
    fields.set(field.number, {
      name: field.name,
      wire,
      packable: wire !== 2 && field.label === "LABEL_REPEATED",
      utf8: field.type === "TYPE_STRING",
      identifier: IDENTIFIER_FIELDS.has(field.name),
      message: inner === undefined ? undefined : compileDescriptor(inner, resolve, compiled),
    });
  }
  return message;
}

/** Short strings are checked here; a native call costs more than a loop over a few bytes. */
const SHORT_STRING = 64;

function isUtf8Range(bytes: Uint8Array, from: number, to: number): boolean {
  if (to - from <= SHORT_STRING) {
    let i = from;
    while (i < to && (bytes[i] as number) < 0x80) i++;
    if (i === to) return true;
  }
  return isUtf8(bytes.subarray(from, to));
}

/** Position in the request being checked; one per request, shared by its nested messages. */
class Cursor {
  at = 0;
  constructor(readonly bytes: Uint8Array) {}

  varint(end: number, path: string): number {
    const bytes = this.bytes;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.at >= end) throw new Malformed(`${path}: truncated varint`);
      const byte = bytes[this.at++] as number;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
    throw new Malformed(`${path}: varint longer than 10 bytes`);
  }

  skip(length: number, end: number, path: string): number {
    if (length > end - this.at) throw new Malformed(`${path}: truncated field`);
    const from = this.at;
    this.at += length;
    return from;
  }
}

const whereOf = (path: string, number: number, field: CheckedField | undefined) =>
  field === undefined ? `${path}.#${number}` : `${path}.${field.name}`;

/**
 * Checks protobuf bytes against a message descriptor: every known field has its declared wire
 * type (or packed, for repeated scalars), every string is valid UTF-8, lengths stay in bounds.
 * Unknown fields are skipped, as proto3 requires. Reads `cursor.bytes` up to `end`.
 */
function checkMessage(
  cursor: Cursor,
  end: number,
  message: CheckedMessage,
  path: string,
  depth: number,
  maxIdentifiers = Number.POSITIVE_INFINITY,
): void {
  if (depth > MAX_DEPTH) throw new Malformed(`${path}: nested deeper than ${MAX_DEPTH}`);
  // Past the limit the rest is only counted: a million identifiers are refused without
  // checking or decoding each one.
  let identifiers = 0;
  while (cursor.at < end) {
    const tag = cursor.varint(end, path);
    const number = Math.floor(tag / 8);
    const wire = tag % 8;
    if (number === 0) throw new Malformed(`${path}: field number 0`);
    const field = message.fields.get(number);
    const counting = identifiers > maxIdentifiers;
    if (field?.identifier) identifiers++;
    if (
      field !== undefined &&
      !counting &&
      wire !== field.wire &&
      !(wire === 2 && field.packable)
    ) {
      throw new Malformed(
        `${whereOf(path, number, field)} has wire type ${wire}, expected ${field.wire}`,
      );
    }
    switch (wire) {
      case 0:
        cursor.varint(end, path);
        break;
      case 1:
        cursor.skip(8, end, path);
        break;
      case 5:
        cursor.skip(4, end, path);
        break;
      case 2: {
        const length = cursor.varint(end, path);
        const from = cursor.skip(length, end, path);
        if (counting || field === undefined) break;
        if (field.utf8 && !isUtf8Range(cursor.bytes, from, cursor.at)) {
          throw new Malformed(`${whereOf(path, number, field)} is not valid UTF-8`);
        }
        if (field.message !== undefined) {
          const after = cursor.at;
          cursor.at = from;
          checkMessage(cursor, after, field.message, whereOf(path, number, field), depth + 1);
        }
        break;
      }
      default:
        throw new Malformed(
          `${whereOf(path, number, field)} has wire type ${wire}, which proto3 does not use`,
        );
    }
  }
  if (identifiers > maxIdentifiers) throw new TooManyIdentifiers(identifiers);
}

/**
 * The service definition with request deserializers that never throw: bytes that are not the
 * request type become a refusal (INVALID_ARGUMENT) instead of grpc-js's INTERNAL
 * "Error deserializing request".
 */
export function withCheckedRequests(
  service: grpc.ServiceDefinition,
  definition: protoLoader.PackageDefinition,
  packageName: string,
  limits: RequestLimits,
): grpc.ServiceDefinition {
  const lookup = (name: string): Descriptor | undefined =>
    (definition[name] as { type?: Descriptor } | undefined)?.type;
  const resolve = (typeName: string, scope: Descriptor): Descriptor | undefined => {
    const bare = typeName.replace(/^\./, "");
    return (
      scope.nestedType.find((nested) => nested.name === bare) ??
      lookup(bare) ??
      lookup(`${packageName}.${bare}`)
    );
  };
  const checked: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [method, attributes] of Object.entries(service)) {
    const requestType = (attributes as { requestType?: { type?: Descriptor } }).requestType?.type;
    const original = attributes.requestDeserialize;
    const typeName = requestType?.name ?? "request";
    const checks = requestType === undefined ? undefined : compileDescriptor(requestType, resolve);
    const decode = (bytes: Buffer) => {
      try {
        if (checks !== undefined) {
          const cursor = new Cursor(bytes);
          checkMessage(cursor, bytes.length, checks, typeName, 0, limits.maxIdentifiersPerRequest);
        }
        return original(bytes);
      } catch (cause) {
        if (cause instanceof TooManyIdentifiers) {
          return { [REFUSED]: tooMany(cause.count, limits.maxIdentifiersPerRequest) };
        }
        const reason = cause instanceof Malformed ? cause.message : (cause as Error).message;
        return {
          [REFUSED]: StateErrors.invalidArgument(
            `${method}: the request is not a valid ${typeName} message (${reason})`,
          ),
        };
      }
    };
    checked[method] = {
      ...attributes,
      requestDeserialize: REPEATED_READS.has(method) ? remembering(decode) : decode,
    };
  }
  return checked;
}

/** Reads that clients repeat byte for byte (a worker polling its variables). */
const REPEATED_READS = new Set(["GetVariable"]);
const REMEMBERED_REQUESTS = 512;
const REMEMBERED_BYTES = 512;

/**
 * Equal bytes decode and check to equal requests: a small request seen lately is answered with
 * its frozen decoding, saving the decode and the check of every repeated read.
 */
function remembering(decode: (bytes: Buffer) => unknown): (bytes: Buffer) => unknown {
  let seen = new Map<string, unknown>();
  return (bytes) => {
    if (bytes.length > REMEMBERED_BYTES) return decode(bytes);
    const key = bytes.toString("latin1");
    let request = seen.get(key);
    if (request === undefined) {
      request = Object.freeze(decode(bytes));
      if (seen.size >= REMEMBERED_REQUESTS) seen = new Map();
      seen.set(key, request);
    }
    return request;
  };
}

const utf8Bytes = (text: string) => Buffer.byteLength(text, "utf8");

function tooLong(what: string, text: string, limit: keyof RequestLimits, max: number) {
  return StateErrors.invalidArgument(
    `${what} ${describeValue(text)} has ${utf8Bytes(text)} bytes, more than ${limit} = ${max}`,
  );
}

/**
 * The per-request limits, read from the request's own fields: session id, identifiers (single,
 * repeated and as map keys), pattern.
 */
export function checkRequestLimits(request: object, limits: RequestLimits): StateError | undefined {
  const fields = request as {
    session_id?: unknown;
    variable_identifier?: unknown;
    variable_identifiers?: unknown;
    updates?: unknown;
    binary_updates?: unknown;
    expected_versions?: unknown;
    pattern?: unknown;
  };
  if (
    typeof fields.session_id === "string" &&
    utf8Bytes(fields.session_id) > limits.maxSessionIdBytes
  ) {
    return tooLong("session id", fields.session_id, "maxSessionIdBytes", limits.maxSessionIdBytes);
  }
  if (typeof fields.pattern === "string" && utf8Bytes(fields.pattern) > limits.maxPatternBytes) {
    return tooLong("pattern", fields.pattern, "maxPatternBytes", limits.maxPatternBytes);
  }
  const identifiers = new Set<string>();
  if (typeof fields.variable_identifier === "string") identifiers.add(fields.variable_identifier);
  if (Array.isArray(fields.variable_identifiers)) {
    if (fields.variable_identifiers.length > limits.maxIdentifiersPerRequest) {
      return tooMany(fields.variable_identifiers.length, limits.maxIdentifiersPerRequest);
    }
    for (const identifier of fields.variable_identifiers) identifiers.add(String(identifier));
  }
  for (const map of [fields.updates, fields.binary_updates, fields.expected_versions]) {
    // Maps where a request was decoded by hand (SetVariables), objects elsewhere.
    if (map instanceof Map) for (const key of map.keys()) identifiers.add(key as string);
    else if (typeof map === "object" && map !== null)
      for (const key of Object.keys(map)) identifiers.add(key);
  }
  if (identifiers.size > limits.maxIdentifiersPerRequest) {
    return tooMany(identifiers.size, limits.maxIdentifiersPerRequest);
  }
  for (const identifier of identifiers) {
    if (utf8Bytes(identifier) > limits.maxIdentifierBytes) {
      return tooLong("identifier", identifier, "maxIdentifierBytes", limits.maxIdentifierBytes);
    }
  }
  return undefined;
}

function tooMany(count: number, max: number): StateError {
  return StateErrors.invalidArgument(
    `the request names ${count} identifiers, more than maxIdentifiersPerRequest = ${max}`,
  );
}
