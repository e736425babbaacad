import {
  decodeValueJson,
  encodeConstraintsJson,
  encodeValueJson,
  err,
  type Result,
  StateErrors,
  typeFromUrl,
  typeUrlFor,
  type VariableRecord,
  type VariableType,
} from "@dspex/state-provider";
import { decodeBinary, encodeBinary, wantsBinary } from "./binary-format.js";
import type { Any__Output } from "./generated/google/protobuf/Any.js";
import type { Timestamp__Input, Timestamp__Output } from "./generated/google/protobuf/Timestamp.js";
import type { Variable__Input } from "./generated/snakepit/bridge/Variable.js";
import { shortAscii } from "./text.js";

/** Conversions between contract records and wire messages, shared by server and client. */

export function toTimestamp(ms: number): Timestamp__Input {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

export function fromTimestamp(ts: Timestamp__Output | null | undefined): number {
  if (ts === null || ts === undefined) return 0;
  return Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6);
}

/** `Variable.source` has two values: PYTHON for writes tagged "python", ELIXIR for the rest. */
export function wireSource(source: string): "PYTHON" | "ELIXIR" {
  return source === "python" ? "PYTHON" : "ELIXIR";
}

const jsonAny = (type: VariableType, json: string) => ({
  type_url: typeUrlFor(type),
  value: Buffer.from(json, "utf8"),
});

// Records are immutable (a write makes a new one), so each one's wire form is built once.
const jsonForms = new WeakMap<VariableRecord, Variable__Input>();
const binaryForms = new WeakMap<VariableRecord, Variable__Input>();

/** A record as a wire `Variable`; large embeddings/tensors in binary when the caller asked. */
export function toWireVariable(record: VariableRecord, preferBinary = false): Variable__Input {
  const binary = preferBinary && wantsBinary(record.type, record.value);
  const cache = binary ? binaryForms : jsonForms;
  let message = cache.get(record);
  if (message === undefined) {
    message = buildWireVariable(record, binary);
    cache.set(record, message);
  }
  return message;
}

function buildWireVariable(record: VariableRecord, binary: boolean): Variable__Input {
  let value: { type_url: string; value: Buffer };
  let binaryValue: Buffer | undefined;
  if (binary) {
    const encoded = encodeBinary(record.type, record.value);
    value = jsonAny(record.type, encoded.header);
    binaryValue = encoded.bytes;
  } else {
    value = jsonAny(record.type, encodeValueJson(record.type, record.value));
  }
  const message: Variable__Input = {
    id: record.id,
    name: record.name,
    type: record.type,
    value,
    constraints_json: encodeConstraintsJson(record.constraints),
    metadata: record.metadata,
    source: wireSource(record.source),
    last_updated_at: toTimestamp(record.updatedAt),
    version: record.version,
    created_at: toTimestamp(record.createdAt),
    source_name: record.source,
  };
  if (binaryValue !== undefined) message.binary_value = binaryValue;
  return message;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes an incoming value for a variable of `type`: the Any's type_url must name that type;
 * with binary bytes, the Any holds the binary header; otherwise its bytes are UTF-8 JSON.
 * The result still goes through `checkValue` (the store does that).
 */
export function decodeWireValue(
  type: VariableType,
  any: Any__Output | null | undefined,
  binary: Uint8Array | undefined,
  variable: string,
): Result<unknown> {
  if (any === null || any === undefined) {
    return err(StateErrors.validation(variable, "value", "no value given (the Any is missing)"));
  }
  const named = typeFromUrl(any.type_url);
  if (!named.ok) {
    return err(StateErrors.validation(variable, "type", named.error.message));
  }
  if (named.value !== type) {
    return err(
      StateErrors.validation(
        variable,
        "type",
        `value type_url ${JSON.stringify(any.type_url)} names ${named.value}, but the variable is ${type}`,
      ),
    );
  }
  let text: string;
  try {
    // Most values are a few ASCII bytes ("0.7", "42"): read without a decoder call.
    text = shortAscii(any.value, 0, any.value.length) ?? utf8.decode(any.value);
  } catch {
    return err(
      StateErrors.validation(
        variable,
        "json",
        `value bytes are not UTF-8 (${any.value.length} bytes)`,
      ),
    );
  }
  if (binary !== undefined && binary.length > 0) return decodeBinary(type, text, binary, variable);
  return decodeValueJson(type, text, variable);
}

/** Decodes a value for registration, where the type comes from the request. */
export function decodeRegistrationValue(
  type: VariableType,
  any: Any__Output | null | undefined,
  binary: Uint8Array | undefined,
  variable: string,
): Result<unknown> {
  if (any === null || any === undefined) {
    return err(StateErrors.validation(variable, "value", `no initial value given for ${type}`));
  }
  return decodeWireValue(type, any, binary, variable);
}
