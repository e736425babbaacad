import type { Metadata } from "../contract.js";
import { type LimitExceededError, StateErrors } from "../errors.js";
import type { VariableType, VariableValue } from "../types/variable-types.js";
import { encodeValueJson } from "../types/wire.js";

/**
 * What one session may store. Limits apply to what is stored after a change (a record's metadata
 * after a set merges into it, a session after an import), not only to one call's input, so no
 * sequence of calls can grow a record past them. `Infinity` turns a limit off.
 */
export interface StoreLimits {
  /** Variables in one session. */
  readonly maxVariablesPerSession: number;
  /** One value as UTF-8 JSON (its wire and export encoding). */
  readonly maxValueBytes: number;
  /** Entries in one record's metadata, or in the session's metadata. */
  readonly maxMetadataEntries: number;
  /** UTF-8 bytes of the keys and values of one record's (or the session's) metadata. */
  readonly maxMetadataBytes: number;
  /** Versions kept per variable for `getVariableHistory`, the current one included. */
  readonly maxVersionsPerVariable: number;
}

/** The contract's limits: every backend stores at least this much and at most this metadata. */
export const DEFAULT_LIMITS: StoreLimits = Object.freeze({
  maxVariablesPerSession: Number.POSITIVE_INFINITY,
  maxValueBytes: Number.POSITIVE_INFINITY,
  maxMetadataEntries: 256,
  maxMetadataBytes: 64 * 1024,
  maxVersionsPerVariable: 100,
});

/**
 * Completes partial limits with the defaults. Limits are a programmer's choice, so a bad one
 * throws a TypeError naming it.
 */
export function storeLimits(given: Partial<StoreLimits> | undefined, owner: string): StoreLimits {
  if (given === undefined) return DEFAULT_LIMITS;
  const limits = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof StoreLimits)[]) {
    const value = given[key];
    if (value === undefined) continue;
    if (typeof value !== "number" || !(value > 0)) {
      throw new TypeError(`${owner}: limit ${key} must be a positive number, got ${String(value)}`);
    }
    if (key === "maxVersionsPerVariable" && value !== Infinity && !Number.isSafeInteger(value)) {
      throw new TypeError(`${owner}: limit ${key} must be a whole number, got ${String(value)}`);
    }
    limits[key] = value;
  }
  return Object.freeze(limits);
}

/** `limit_exceeded` when `metadata` (as it would be stored) breaks the entry or byte limit. */
export function checkStoredMetadata(
  metadata: Metadata,
  limits: StoreLimits,
  owner: string,
): LimitExceededError | undefined {
  const keys = Object.keys(metadata);
  if (keys.length > limits.maxMetadataEntries) {
    return StateErrors.limitExceeded(
      "maxMetadataEntries",
      limits.maxMetadataEntries,
      `metadata of ${owner} would hold ${keys.length} entries`,
    );
  }
  if (limits.maxMetadataBytes === Number.POSITIVE_INFINITY) return undefined;
  let units = 0;
  for (const key of keys) units += key.length + (metadata[key] as string).length;
  // A UTF-16 code unit is at most 3 bytes of UTF-8: exact counting only when it could matter.
  if (units * 3 <= limits.maxMetadataBytes) return undefined;
  let bytes = 0;
  for (const key of keys)
    bytes += Buffer.byteLength(key) + Buffer.byteLength(metadata[key] as string);
  if (bytes <= limits.maxMetadataBytes) return undefined;
  return StateErrors.limitExceeded(
    "maxMetadataBytes",
    limits.maxMetadataBytes,
    `metadata of ${owner} would be ${bytes} bytes`,
  );
}

/** `limit_exceeded` when the value's JSON encoding is larger than `maxValueBytes`. */
export function checkValueSize(
  name: string,
  type: VariableType,
  value: VariableValue,
  limits: StoreLimits,
): LimitExceededError | undefined {
  const max = limits.maxValueBytes;
  if (max === Number.POSITIVE_INFINITY) return undefined;
  if (typeof value === "number" || typeof value === "boolean") return undefined;
  // Fast path only when even the worst case fits: a code unit is at most 6 bytes in JSON
  // (control characters and lone surrogates are escaped as \uXXXX).
  if (typeof value === "string" && value.length * 6 + 2 <= max) return undefined;
  const bytes = Buffer.byteLength(encodeValueJson(type, value));
  if (bytes <= max) return undefined;
  return StateErrors.limitExceeded(
    "maxValueBytes",
    max,
    `value of variable ${JSON.stringify(name)} is ${bytes} bytes as JSON`,
  );
}
