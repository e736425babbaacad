import type { VariableRecord } from "@dspex/state-provider";
import type * as grpc from "@grpc/grpc-js";
import {
  type BatchSetResponse,
  decodeBatchSetRequest,
  encodeBatchSetResponse,
} from "../wire/batch-set-encoding.js";
import { toWireVariable } from "../wire/codec.js";
import type { BatchGetVariablesResponse__Input } from "../wire/generated/snakepit/bridge/BatchGetVariablesResponse.js";
import type { GetVariableResponse__Input } from "../wire/generated/snakepit/bridge/GetVariableResponse.js";

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

export function encodedGetResponse(
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
export function encodedBatchGetResponse(
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

export function withPreEncodedResponses(service: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const get = service.GetVariable;
  const getMany = service.GetVariables;
  const setMany = service.SetVariables;
  if (get === undefined || getMany === undefined || setMany === undefined)
    throw new Error("the bridge .proto has no GetVariable, GetVariables or SetVariables");
  serializeGetResponse = get.responseSerialize as (value: object) => Buffer;
  const passBuffers =
    (original: grpc.serialize<unknown>) =>
    (value: unknown): Buffer =>
      Buffer.isBuffer(value) ? value : original(value);
  return {
    ...service,
    GetVariable: { ...get, responseSerialize: passBuffers(get.responseSerialize) },
    GetVariables: { ...getMany, responseSerialize: passBuffers(getMany.responseSerialize) },
    // Batches by hand both ways (batch-set-encoding.ts): protobufjs spends more per item.
    SetVariables: {
      ...setMany,
      requestDeserialize: decodeBatchSetRequest,
      responseSerialize: (value: unknown) => encodeBatchSetResponse(value as BatchSetResponse),
    },
  };
}
