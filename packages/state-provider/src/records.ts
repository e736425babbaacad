import type { Metadata, VariableEvent, VariableEventKind, VariableRecord } from "./contract.js";
import { mergeMetadata, sourceOf } from "./types/validation.js";
import type { VariableValue } from "./types/variable-types.js";

/*
 * How a record changes on a write, and the event a change sends: written once here so every
 * backend moves versions, metadata, source and timestamps the same way.
 */

/** The record after a successful write of an already-checked value: version +1, metadata merged. */
export function writtenRecord(
  current: VariableRecord,
  value: VariableValue,
  metadata: Metadata,
  now: number = Date.now(),
): VariableRecord {
  // Every field spelled out, in the order of VariableRecord, so all records share one shape.
  return Object.freeze({
    id: current.id,
    name: current.name,
    type: current.type,
    value,
    constraints: current.constraints,
    metadata: mergeMetadata(current.metadata, metadata),
    version: current.version + 1,
    createdAt: current.createdAt,
    updatedAt: now,
    source: sourceOf(metadata),
  });
}

/**
 * The event that tells subscribers about a committed change to `record`. `timestamp` is the
 * commit time: the record's `updatedAt` for writes, the time of deletion for `deleted`.
 */
export function eventOf(
  kind: VariableEventKind,
  record: VariableRecord,
  previousValue: VariableValue | undefined,
  timestamp: number = record.updatedAt,
): VariableEvent {
  return {
    kind,
    id: record.id,
    name: record.name,
    type: record.type,
    value: record.value,
    previousValue,
    version: record.version,
    metadata: record.metadata,
    source: record.source,
    timestamp,
    record,
  };
}
