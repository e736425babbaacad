import { define } from "@dspex/state-provider/backend";
import { decodeUtf8 } from "./text.js";

/**
 * SetVariables, both ways, encoded and decoded by hand. protobufjs builds a 100-item batch
 * through `fromObject`, generic map codecs and `toObject`, which was most of the CPU a batch cost
 * beyond the gRPC call on each side. These write and read the same messages (field numbers of
 * snakepit_bridge.proto), with the shapes proto-loader gives (its options in proto.ts);
 * test/codec.test.ts checks each against protobufjs.
 */

/** A wire value: `value` is its bytes, or a string to be written as UTF-8 (no Buffer per item). */
export interface WireAny {
  readonly type_url: string;
  readonly value: Buffer | string;
}

export interface BatchSetRequest {
  readonly session_id: string;
  /** Map entries in order, each key once (the caller's own keys: an object's entries). */
  readonly updates: readonly (readonly [string, WireAny])[];
  readonly binary_updates: readonly (readonly [string, Buffer])[];
  readonly metadata: Readonly<Record<string, string>>;
  readonly atomic: boolean;
  readonly expected_versions: Readonly<Record<string, number>>;
  readonly request_id: string;
}

const LENGTH_DELIMITED = 2;
const VARINT = 0;

/** Strings this short are measured and written by a loop: cheaper than a native call. */
const SHORT = 48;

/** UTF-8 length of `text`. */
function utf8Length(text: string): number {
  if (text.length <= SHORT) {
    let i = 0;
    while (i < text.length && text.charCodeAt(i) < 0x80) i++;
    if (i === text.length) return i;
  }
  return Buffer.byteLength(text, "utf8");
}

function varintSize(value: number): number {
  let size = 1;
  let rest = value;
  while (rest >= 0x80) {
    rest = Math.floor(rest / 128);
    size++;
  }
  return size;
}

/** Size of a length-delimited field (tag below 16: one byte) holding `length` bytes. */
const fieldSize = (length: number) => 1 + varintSize(length) + length;

class Writer {
  readonly buffer: Buffer;
  at = 0;

  constructor(size: number) {
    this.buffer = Buffer.allocUnsafe(size);
  }

  varint(value: number): void {
    let rest = value;
    while (rest >= 0x80) {
      this.buffer[this.at++] = (rest & 0x7f) | 0x80;
      rest = Math.floor(rest / 128);
    }
    this.buffer[this.at++] = rest;
  }

  tag(field: number, wireType: number): void {
    this.buffer[this.at++] = (field << 3) | wireType;
  }

  /** A length-delimited field whose bytes are `text` as UTF-8 (`bytes` its precomputed length). */
  string(field: number, text: string, bytes: number): void {
    this.tag(field, LENGTH_DELIMITED);
    this.varint(bytes);
    if (bytes === text.length && bytes <= SHORT) {
      // ASCII (its UTF-8 length is its length): byte for char.
      const buffer = this.buffer;
      for (let i = 0; i < bytes; i++) buffer[this.at + i] = text.charCodeAt(i);
      this.at += bytes;
    } else {
      this.at += this.buffer.write(text, this.at, "utf8");
    }
  }

  raw(bytes: Buffer): void {
    bytes.copy(this.buffer, this.at);
    this.at += bytes.length;
  }

  bytes(field: number, value: Buffer): void {
    this.tag(field, LENGTH_DELIMITED);
    this.varint(value.length);
    value.copy(this.buffer, this.at);
    this.at += value.length;
  }
}

/** An Any's `type_url` field (1), encoded: a batch repeats a handful of URLs item after item. */
const typeUrlFields = new Map<string, Buffer>();
const TYPE_URL_FIELDS = 64;

function typeUrlField(typeUrl: string): Buffer {
  let field = typeUrlFields.get(typeUrl);
  if (field === undefined) {
    const bytes = utf8Length(typeUrl);
    const out = new Writer(fieldSize(bytes));
    out.string(1, typeUrl, bytes);
    field = out.buffer;
    if (typeUrlFields.size >= TYPE_URL_FIELDS) typeUrlFields.clear();
    typeUrlFields.set(typeUrl, field);
  }
  return field;
}

/** Proto3 leaves out fields at their default: empty strings and maps, false. */
export function encodeBatchSetRequest(request: BatchSetRequest): Buffer {
  const sessionBytes = utf8Length(request.session_id);
  const requestIdBytes = utf8Length(request.request_id);
  let size = sessionBytes > 0 ? fieldSize(sessionBytes) : 0;
  if (requestIdBytes > 0) size += fieldSize(requestIdBytes);
  if (request.atomic) size += 2;

  // Per map entry, four sizes in a row: key bytes, the value's bytes, the Any's and the entry's
  // (the second pass writes them).
  const sizes: number[] = [];
  for (const [key, any] of request.updates) {
    const keyBytes = utf8Length(key);
    const valueBytes = typeof any.value === "string" ? utf8Length(any.value) : any.value.length;
    const anySize =
      typeUrlField(any.type_url).length + (valueBytes > 0 ? fieldSize(valueBytes) : 0);
    const entry = fieldSize(keyBytes) + fieldSize(anySize);
    sizes.push(keyBytes, valueBytes, anySize, entry);
    size += fieldSize(entry);
  }
  const metadata = measuredStrings(request.metadata);
  for (const { entry } of metadata) size += fieldSize(entry);
  const binaries = request.binary_updates.map(([key, value]) => {
    const keyBytes = utf8Length(key);
    return { key, value, keyBytes, entry: fieldSize(keyBytes) + fieldSize(value.length) };
  });
  for (const { entry } of binaries) size += fieldSize(entry);
  const expected = Object.keys(request.expected_versions).map((key) => {
    const version = request.expected_versions[key] as number;
    if (!Number.isSafeInteger(version) || version < 0 || version > 0x7fffffff) {
      throw new RangeError(`expected version of ${key} is not a wire int32 ≥ 0: ${version}`);
    }
    const keyBytes = utf8Length(key);
    return { key, version, keyBytes, entry: fieldSize(keyBytes) + 1 + varintSize(version) };
  });
  for (const { entry } of expected) size += fieldSize(entry);

  const out = new Writer(size);
  if (sessionBytes > 0) out.string(1, request.session_id, sessionBytes);
  let at = 0;
  for (const [key, any] of request.updates) {
    const keyBytes = sizes[at++] as number;
    const valueBytes = sizes[at++] as number;
    const anySize = sizes[at++] as number;
    const entry = sizes[at++] as number;
    out.tag(2, LENGTH_DELIMITED);
    out.varint(entry);
    out.string(1, key, keyBytes);
    out.tag(2, LENGTH_DELIMITED);
    out.varint(anySize);
    out.raw(typeUrlField(any.type_url));
    if (valueBytes === 0) continue;
    if (typeof any.value === "string") out.string(2, any.value, valueBytes);
    else out.bytes(2, any.value);
  }
  for (const { key, value, keyBytes, valueBytes, entry } of metadata) {
    out.tag(3, LENGTH_DELIMITED);
    out.varint(entry);
    out.string(1, key, keyBytes);
    out.string(2, value, valueBytes);
  }
  if (request.atomic) {
    out.tag(4, VARINT);
    out.varint(1);
  }
  for (const { key, value, keyBytes, entry } of binaries) {
    out.tag(5, LENGTH_DELIMITED);
    out.varint(entry);
    out.string(1, key, keyBytes);
    out.bytes(2, value);
  }
  for (const { key, version, keyBytes, entry } of expected) {
    out.tag(6, LENGTH_DELIMITED);
    out.varint(entry);
    out.string(1, key, keyBytes);
    out.tag(2, VARINT);
    out.varint(version);
  }
  if (requestIdBytes > 0) out.string(7, request.request_id, requestIdBytes);
  if (out.at !== size) throw new Error(`encodeBatchSetRequest wrote ${out.at} of ${size} bytes`);
  return out.buffer;
}

/** The answer to a SetVariables call. */
export interface BatchSetResponse {
  readonly success: boolean;
  readonly errors: Readonly<Record<string, string>>;
  readonly new_versions: Readonly<Record<string, number>>;
}

/** A string → string map's entries, measured. */
function measuredStrings(map: Readonly<Record<string, string>>) {
  return Object.keys(map).map((key) => {
    const value = map[key] as string;
    const keyBytes = utf8Length(key);
    const valueBytes = utf8Length(value);
    return { key, value, keyBytes, valueBytes, entry: fieldSize(keyBytes) + fieldSize(valueBytes) };
  });
}

export function encodeBatchSetResponse(response: BatchSetResponse): Buffer {
  const errors = measuredStrings(response.errors);
  const versionKeys = Object.keys(response.new_versions);
  let size = response.success ? 2 : 0;
  for (const { entry } of errors) size += fieldSize(entry);
  const versionSizes = new Array<number>(versionKeys.length);
  for (let i = 0; i < versionKeys.length; i++) {
    const key = versionKeys[i] as string;
    const version = response.new_versions[key] as number;
    if (!Number.isSafeInteger(version) || version < 0 || version > 0x7fffffff) {
      throw new RangeError(`version of ${key} is not a wire int32 ≥ 0: ${version}`);
    }
    const keyBytes = utf8Length(key);
    versionSizes[i] = keyBytes;
    size += fieldSize(fieldSize(keyBytes) + (version === 0 ? 0 : 1 + varintSize(version)));
  }
  const out = new Writer(size);
  if (response.success) {
    out.tag(1, VARINT);
    out.varint(1);
  }
  for (const { key, value, keyBytes, valueBytes, entry } of errors) {
    out.tag(2, LENGTH_DELIMITED);
    out.varint(entry);
    out.string(1, key, keyBytes);
    out.string(2, value, valueBytes);
  }
  for (let i = 0; i < versionKeys.length; i++) {
    const key = versionKeys[i] as string;
    const version = response.new_versions[key] as number;
    const keyBytes = versionSizes[i] as number;
    out.tag(3, LENGTH_DELIMITED);
    out.varint(fieldSize(keyBytes) + (version === 0 ? 0 : 1 + varintSize(version)));
    out.string(1, key, keyBytes);
    if (version !== 0) {
      out.tag(2, VARINT);
      out.varint(version);
    }
  }
  if (out.at !== size) throw new Error(`encodeBatchSetResponse wrote ${out.at} of ${size} bytes`);
  return out.buffer;
}

/** Malformed protobuf, found while decoding by hand. */
export class MalformedMessage extends Error {}

/**
 * Reads protobuf fields from `bytes[at, end)`. A nested message is read by the same reader
 * (`enter`, then `leave`), and fields are read without tuples: nothing is allocated per field
 * but what the field holds.
 */
class Reader {
  at = 0;
  end: number;

  constructor(readonly bytes: Buffer) {
    this.end = bytes.length;
  }

  get more(): boolean {
    return this.at < this.end;
  }

  varint(): number {
    const { bytes } = this;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.at >= this.end) throw new MalformedMessage("truncated varint");
      const byte = bytes[this.at++] as number;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
    throw new MalformedMessage("varint longer than 10 bytes");
  }

  /** An int32 (its low 32 bits, as protobufjs reads it). */
  int32(): number {
    const { bytes } = this;
    let low = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.at >= this.end) throw new MalformedMessage("truncated varint");
      const byte = bytes[this.at++] as number;
      if (shift < 32) low |= (byte & 0x7f) << shift;
      if (byte < 0x80) return low | 0;
    }
    throw new MalformedMessage("varint longer than 10 bytes");
  }

  /** Moves past a length-delimited field; answers where its bytes start (they end at `at`). */
  delimited(): number {
    const length = this.varint();
    if (length > this.end - this.at) throw new MalformedMessage("truncated field");
    const from = this.at;
    this.at += length;
    return from;
  }

  string(): string {
    const from = this.delimited();
    return decodeUtf8(this.bytes, from, this.at);
  }

  /** A string field that is likely `expected` (ASCII): then that very string, else a new one. */
  stringLike(expected: string | undefined): string {
    const from = this.delimited();
    const { bytes, at } = this;
    if (expected !== undefined && expected.length === at - from) {
      let i = 0;
      while (i < expected.length && expected.charCodeAt(i) === bytes[from + i]) i++;
      if (i === expected.length) return expected;
    }
    return decodeUtf8(bytes, from, at);
  }

  /** A view of the bytes, not a copy (as protobufjs reads bytes from a Buffer). */
  bytesField(): Buffer {
    const from = this.delimited();
    return this.bytes.subarray(from, this.at);
  }

  /** Reads the nested message of a length-delimited field next; answers the end to `leave` with. */
  enter(): number {
    const outer = this.end;
    const from = this.delimited();
    this.end = this.at;
    this.at = from;
    return outer;
  }

  leave(outer: number): void {
    this.end = outer;
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 2) this.delimited();
    else if (wire === 1 || wire === 5) {
      const length = wire === 1 ? 8 : 4;
      if (length > this.end - this.at) throw new MalformedMessage("truncated field");
      this.at += length;
    } else throw new MalformedMessage(`wire type ${wire}`);
  }
}

/**
 * A map entry { key = 1 (string); value = 2 } into `target`: a missing key is "", a missing value
 * `absent`, a repeated key keeps its last value (all as protobufjs decodes maps).
 */
function readEntry<T>(
  reader: Reader,
  target: Record<string, T> | Map<string, T>,
  absent: T,
  value: (reader: Reader, wire: number) => T | undefined,
  likelyKey?: string,
): void {
  const outer = reader.enter();
  let key = "";
  let found = absent;
  while (reader.more) {
    const tag = reader.varint();
    const wire = tag & 7;
    const number = Math.floor(tag / 8);
    if (number === 1 && wire === LENGTH_DELIMITED) key = reader.stringLike(likelyKey);
    else if (number === 2) {
      const read = value(reader, wire);
      if (read === undefined) reader.skip(wire);
      else found = read;
    } else reader.skip(wire);
  }
  reader.leave(outer);
  if (target instanceof Map) target.set(key, found);
  else define(target, key, found);
}

const stringValue = (reader: Reader, wire: number) =>
  wire === LENGTH_DELIMITED ? reader.string() : undefined;
const int32Value = (reader: Reader, wire: number) => (wire === VARINT ? reader.int32() : undefined);
const bytesValue = (reader: Reader, wire: number) =>
  wire === LENGTH_DELIMITED ? reader.bytesField() : undefined;

const EMPTY: Buffer = Buffer.alloc(0);

function anyValue(reader: Reader, wire: number): { type_url: string; value: Buffer } | undefined {
  if (wire !== LENGTH_DELIMITED) return undefined;
  const outer = reader.enter();
  let type_url = "";
  let value = EMPTY;
  while (reader.more) {
    const tag = reader.varint();
    const number = Math.floor(tag / 8);
    if (number === 1 && (tag & 7) === LENGTH_DELIMITED) type_url = reader.string();
    else if (number === 2 && (tag & 7) === LENGTH_DELIMITED) value = reader.bytesField();
    else reader.skip(tag & 7);
  }
  reader.leave(outer);
  return { type_url, value };
}

/**
 * A decoded SetVariables request: proto-loader's shape, except that the per-item maps are Maps
 * (a fresh string as an object key costs an internalization; as a Map key only its hash).
 */
export interface DecodedBatchSetRequest {
  session_id: string;
  updates: Map<string, { type_url: string; value: Buffer } | null>;
  metadata: Record<string, string>;
  atomic: boolean;
  binary_updates: Map<string, Buffer>;
  expected_versions: Map<string, number>;
  request_id: string;
}

/**
 * Decodes a SetVariables request. On a bridge its bytes were checked first (request-guard.ts:
 * wire types, bounds, UTF-8); fields of another wire type than declared are skipped here.
 */
export function decodeBatchSetRequest(bytes: Buffer): DecodedBatchSetRequest {
  const request: DecodedBatchSetRequest = {
    session_id: "",
    updates: new Map(),
    metadata: {},
    atomic: false,
    binary_updates: new Map(),
    expected_versions: new Map(),
    request_id: "",
  };
  const reader = new Reader(bytes);
  while (reader.more) {
    const tag = reader.varint();
    const wire = tag & 7;
    const number = Math.floor(tag / 8);
    if (wire === LENGTH_DELIMITED) {
      if (number === 1) request.session_id = reader.string();
      else if (number === 2) readEntry(reader, request.updates, null, anyValue);
      else if (number === 3) readEntry(reader, request.metadata, "", stringValue);
      else if (number === 5) readEntry(reader, request.binary_updates, EMPTY, bytesValue);
      else if (number === 6) readEntry(reader, request.expected_versions, 0, int32Value);
      else if (number === 7) request.request_id = reader.string();
      else reader.skip(wire);
    } else if (number === 4 && wire === VARINT) request.atomic = reader.varint() !== 0;
    else reader.skip(wire);
  }
  return request;
}

/**
 * Decodes a SetVariables answer; malformed bytes throw `MalformedMessage`. A bridge answers the
 * versions in the order of the request's `identifiers`: a key equal to the one expected is that
 * string itself (already an object key elsewhere, so a Record takes it without hashing it anew).
 */
export function decodeBatchSetResponse(
  bytes: Buffer,
  identifiers?: readonly string[],
): BatchSetResponse {
  let success = false;
  let entries = 0;
  const errors: Record<string, string> = {};
  const versions: Record<string, number> = {};
  const reader = new Reader(bytes);
  while (reader.more) {
    const tag = reader.varint();
    const wire = tag & 7;
    const number = Math.floor(tag / 8);
    if (number === 1 && wire === VARINT) success = reader.varint() !== 0;
    else if (number === 2 && wire === LENGTH_DELIMITED) readEntry(reader, errors, "", stringValue);
    else if (number === 3 && wire === LENGTH_DELIMITED) {
      readEntry(reader, versions, 0, int32Value, identifiers?.[entries++]);
    } else reader.skip(wire);
  }
  return { success, errors, new_versions: versions };
}
