import {
  encodeValueJson,
  fromJsonValue,
  type VariableRecord,
  type VariableValue,
} from "@dspex/state-provider";

/*
 * A record is stored as one JSON document: the immutable header and the mutable fields, with the
 * value spliced in as the contract's wire JSON (encodeValueJson), so what Redis holds is exactly
 * what the wire and the export carry, and Lua only ever moves it as an opaque string.
 */

export function encodeRecord(record: VariableRecord): string {
  const { value, ...rest } = record;
  const head = JSON.stringify({
    id: rest.id,
    name: rest.name,
    type: rest.type,
    constraints: rest.constraints,
    metadata: rest.metadata,
    version: rest.version,
    createdAt: rest.createdAt,
    updatedAt: rest.updatedAt,
    source: rest.source,
  });
  return `${head.slice(0, -1)},"value":${encodeValueJson(record.type, value)}}`;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** A stored record (written by `encodeRecord`, so already validated) back as a frozen record. */
export function decodeRecord(text: string): VariableRecord {
  const raw = JSON.parse(text) as VariableRecord & { value: unknown };
  return Object.freeze({
    id: raw.id,
    name: raw.name,
    type: raw.type,
    value: deepFreeze(fromJsonValue(raw.type, raw.value)) as VariableValue,
    constraints: deepFreeze(raw.constraints),
    metadata: Object.freeze(raw.metadata),
    version: raw.version,
    createdAt: raw.createdAt,
    updatedAt: raw.updatedAt,
    source: raw.source,
  });
}

/** The value of a stored record, decoding only what a read needs (the hot path of `get`). */
export function decodeValue(text: string): VariableValue {
  const raw = JSON.parse(text) as { type: VariableRecord["type"]; value: unknown };
  return deepFreeze(fromJsonValue(raw.type, raw.value)) as VariableValue;
}

export function decodeValueOf(type: VariableRecord["type"], json: string): VariableValue {
  return deepFreeze(fromJsonValue(type, JSON.parse(json))) as VariableValue;
}
