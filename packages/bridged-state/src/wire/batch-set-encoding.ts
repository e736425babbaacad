/**
 * A `BatchSetVariablesRequest` encoded by hand. protobufjs builds a 100-item batch through
 * `fromObject` and a generic map encoder, a seventh of a client's CPU for `updateVariables(100)`;
 * this writes the same message (field numbers of snakepit_bridge.proto) in two passes over the
 * items: sizes first, then one Buffer. test/codec.test.ts decodes it with protobufjs.
 */

export interface BatchSetRequest {
  readonly session_id: string;
  readonly updates: Readonly<Record<string, { readonly type_url: string; readonly value: Buffer }>>;
  readonly binary_updates: Readonly<Record<string, Buffer>>;
  readonly metadata: Readonly<Record<string, string>>;
  readonly atomic: boolean;
  readonly expected_versions: Readonly<Record<string, number>>;
  readonly request_id: string;
}

const LENGTH_DELIMITED = 2;
const VARINT = 0;

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
    this.at += this.buffer.write(text, this.at, "utf8");
  }

  bytes(field: number, value: Buffer): void {
    this.tag(field, LENGTH_DELIMITED);
    this.varint(value.length);
    value.copy(this.buffer, this.at);
    this.at += value.length;
  }
}

/** Proto3 leaves out fields at their default: empty strings and maps, false. */
export function encodeBatchSetRequest(request: BatchSetRequest): Buffer {
  const sessionBytes = Buffer.byteLength(request.session_id, "utf8");
  const requestIdBytes = Buffer.byteLength(request.request_id, "utf8");
  let size = sessionBytes > 0 ? fieldSize(sessionBytes) : 0;
  if (requestIdBytes > 0) size += fieldSize(requestIdBytes);
  if (request.atomic) size += 2;

  // Per map entry: key bytes, the entry's and the value's sizes (the second pass writes them).
  const updates = Object.keys(request.updates);
  const updateSizes = new Array<[key: number, url: number, any: number, entry: number]>(
    updates.length,
  );
  for (let i = 0; i < updates.length; i++) {
    const key = updates[i] as string;
    const any = request.updates[key] as { type_url: string; value: Buffer };
    const keyBytes = Buffer.byteLength(key, "utf8");
    const urlBytes = Buffer.byteLength(any.type_url, "utf8");
    const anySize = fieldSize(urlBytes) + (any.value.length > 0 ? fieldSize(any.value.length) : 0);
    const entry = fieldSize(keyBytes) + fieldSize(anySize);
    updateSizes[i] = [keyBytes, urlBytes, anySize, entry];
    size += fieldSize(entry);
  }
  const stringMap = (map: Readonly<Record<string, string>>) =>
    Object.keys(map).map((key) => {
      const value = map[key] as string;
      const keyBytes = Buffer.byteLength(key, "utf8");
      const valueBytes = Buffer.byteLength(value, "utf8");
      return {
        key,
        value,
        keyBytes,
        valueBytes,
        entry: fieldSize(keyBytes) + fieldSize(valueBytes),
      };
    });
  const metadata = stringMap(request.metadata);
  for (const { entry } of metadata) size += fieldSize(entry);
  const binaries = Object.keys(request.binary_updates).map((key) => {
    const value = request.binary_updates[key] as Buffer;
    const keyBytes = Buffer.byteLength(key, "utf8");
    return { key, value, keyBytes, entry: fieldSize(keyBytes) + fieldSize(value.length) };
  });
  for (const { entry } of binaries) size += fieldSize(entry);
  const expected = Object.keys(request.expected_versions).map((key) => {
    const version = request.expected_versions[key] as number;
    if (!Number.isSafeInteger(version) || version < 0 || version > 0x7fffffff) {
      throw new RangeError(`expected version of ${key} is not a wire int32 ≥ 0: ${version}`);
    }
    const keyBytes = Buffer.byteLength(key, "utf8");
    return { key, version, keyBytes, entry: fieldSize(keyBytes) + 1 + varintSize(version) };
  });
  for (const { entry } of expected) size += fieldSize(entry);

  const out = new Writer(size);
  if (sessionBytes > 0) out.string(1, request.session_id, sessionBytes);
  for (let i = 0; i < updates.length; i++) {
    const key = updates[i] as string;
    const any = request.updates[key] as { type_url: string; value: Buffer };
    const [keyBytes, urlBytes, anySize, entry] = updateSizes[i] as [number, number, number, number];
    out.tag(2, LENGTH_DELIMITED);
    out.varint(entry);
    out.string(1, key, keyBytes);
    out.tag(2, LENGTH_DELIMITED);
    out.varint(anySize);
    out.string(1, any.type_url, urlBytes);
    if (any.value.length > 0) out.bytes(2, any.value);
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
