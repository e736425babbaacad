import type {
  Identifier,
  Metadata,
  VariableEvent,
  VariableEventKind,
  VariableId,
  VariableRecord,
} from "../contract.js";
import { describeValue, type StateError, StateErrors } from "../errors.js";
import type { ParsedExport } from "../export-format.js";
import { eventOf, writtenRecord } from "../records.js";
import { err, ok, type Result } from "../result.js";
import {
  checkExpectedVersion,
  checkMetadata,
  checkRegistration,
  checkValue,
  EMPTY_METADATA,
  mergeMetadata,
  type RegistrationInput,
  sourceOf,
} from "../types/validation.js";
import { EncodedValue } from "./encoded-value.js";
import { checkStoredMetadata, checkValueSize, type StoreLimits } from "./limits.js";
import { define, own } from "./own-keys.js";

/*
 * The contract's rules for every change, as pure functions: the current records in, the new
 * records and their events (or an error) out. No storage, no clock, no ids of their own: an
 * in-memory table applies a plan to its Maps; a remote backend reads the records a call touches,
 * plans with these same functions, then commits atomically on the condition that what it read
 * has not moved. A failed plan changes nothing, because nothing was applied yet.
 */

/** What a plan reads: the records a change may touch. A remote backend fills it with what it read. */
export interface RecordView {
  /** Id first, then name (the contract's rule for identifiers). */
  resolve(identifier: Identifier): VariableRecord | undefined;
  byId(id: VariableId): VariableRecord | undefined;
  /** The id that holds `name`, if any. */
  idOfName(name: string): VariableId | undefined;
  /** Variables in the session. */
  readonly size: number;
}

/**
 * One change a plan decided: the record after it (for `deleted`: the removed one), the stored
 * record it replaces or removes (same id; undefined for a new one), and the commit time. Its
 * event is `changeEvent(change)`, built only where someone listens.
 */
export interface Change {
  readonly kind: VariableEventKind;
  readonly record: VariableRecord;
  readonly previous: VariableRecord | undefined;
  readonly timestamp: number;
}

/** The event subscribers hear for a committed change. */
export function changeEvent(change: Change): VariableEvent {
  return eventOf(change.kind, change.record, change.previous?.value, change.timestamp);
}

/** Everything a plan needs besides the records. */
export interface PlanContext {
  readonly limits: StoreLimits;
  /** Wall-clock epoch milliseconds of the commit. */
  readonly now: number;
}

/** A registration: checks everything, then `already_exists` and the stored limits. */
export function planRegistration(
  view: RecordView,
  input: RegistrationInput,
  id: VariableId,
  context: PlanContext,
): Result<Change> {
  const checked = checkRegistration(input);
  if (!checked.ok) return checked;
  const { name, type, value, constraints, metadata } = checked.value;
  if (view.idOfName(name) !== undefined) return err(StateErrors.alreadyExists(name));
  const { limits, now } = context;
  if (view.size >= limits.maxVariablesPerSession) {
    return err(
      StateErrors.limitExceeded(
        "maxVariablesPerSession",
        limits.maxVariablesPerSession,
        `cannot register ${JSON.stringify(name)}: the session holds ${view.size} variables`,
      ),
    );
  }
  const tooLarge =
    checkValueSize(name, type, value, limits) ??
    checkStoredMetadata(metadata, limits, `variable ${JSON.stringify(name)}`);
  if (tooLarge !== undefined) return err(tooLarge);
  const record: VariableRecord = Object.freeze({
    id,
    name,
    type,
    value,
    constraints,
    metadata,
    version: 1,
    createdAt: now,
    updatedAt: now,
    source: sourceOf(metadata),
  });
  return ok({ kind: "registered", record, previous: undefined, timestamp: now });
}

/**
 * Checks a write's metadata argument once for the whole call (a caller's mistake, not one
 * variable's): absent means none.
 */
export function checkWriteMetadata(metadata: unknown): Result<Metadata> {
  return metadata === undefined || metadata === null ? NO_METADATA : checkMetadata(metadata);
}

const NO_METADATA: Result<Metadata> = Object.freeze(ok(EMPTY_METADATA));

/**
 * `planWrite` for a backend that resolved the identifier itself (an in-memory table holding
 * the record at hand): the same answers in the same order, from `version_conflict` on.
 */
export function planWriteTo(
  current: VariableRecord,
  identifier: Identifier,
  value: unknown,
  metadata: Metadata,
  expectedVersion: number | undefined,
  context: PlanContext,
  refused?: StateError,
): Result<Change> {
  return planWriteOf(
    current,
    identifier,
    value,
    metadata,
    expectedVersion,
    current.version,
    context,
    refused,
  );
}

/**
 * One write of `current` (already resolved): compare-and-set against `version` (the version the
 * variable will have when this write runs), value checks, the stored limits.
 */
function planWriteOf(
  current: VariableRecord,
  identifier: Identifier,
  raw: unknown,
  metadata: Metadata,
  expected: number | undefined,
  version: number,
  context: PlanContext,
  refused: StateError | undefined,
): Result<Change> {
  if (expected !== undefined && expected !== version) {
    return err(StateErrors.versionConflict(identifier, expected, version));
  }
  // A value that never arrived whole (the wire could not decode it) is a value problem.
  if (refused !== undefined) return err(refused);
  let given = raw;
  if (given instanceof EncodedValue) {
    const decoded = given.decode(current.type, current.name);
    if (!decoded.ok) return decoded;
    given = decoded.value;
  }
  const value = checkValue(current.name, current.type, given, current.constraints);
  if (!value.ok) return value;
  const record = writtenRecord(current, value.value, metadata, context.now);
  const tooLarge =
    checkValueSize(record.name, record.type, record.value, context.limits) ??
    (record.metadata === current.metadata
      ? undefined
      : checkStoredMetadata(
          record.metadata,
          context.limits,
          `variable ${JSON.stringify(record.name)}`,
        ));
  if (tooLarge !== undefined) return err(tooLarge);
  return ok({ kind: "updated", record, previous: current, timestamp: record.updatedAt });
}

/**
 * A single set. Order of answers (the contract's, for every write): a malformed expected version
 * (`invalid_argument`), an unknown identifier (`not_found`), `version_conflict`, the value (one
 * that `refused` says failed before planning, e.g. to decode, then the value's checks), the
 * stored limits. `metadata` comes from `checkWriteMetadata`.
 */
export function planWrite(
  view: RecordView,
  identifier: Identifier,
  value: unknown,
  metadata: Metadata,
  expectedVersion: unknown,
  context: PlanContext,
  refused?: StateError,
): Result<Change> {
  if (expectedVersion !== undefined) {
    const checked = checkExpectedVersion(expectedVersion, identifier);
    if (!checked.ok) return checked;
  }
  const current = view.resolve(identifier);
  if (current === undefined) return err(StateErrors.notFound(identifier));
  return planWriteOf(
    current,
    identifier,
    value,
    metadata,
    expectedVersion as number | undefined,
    current.version,
    context,
    refused,
  );
}

/** A batch's plan: the changes to commit, the identifier each came from, and what failed. */
export interface BatchPlan {
  /** In the order of the batch; empty when an atomic batch failed. */
  readonly changes: readonly Change[];
  /** `identifiers[i]` (as given) wrote `changes[i]`. */
  readonly identifiers: readonly Identifier[];
  /** Identifier (as given) → why it failed; undefined when nothing failed. */
  readonly failed: Readonly<Record<Identifier, StateError>> | undefined;
}

/**
 * Several writes. Every item is checked before any applies; a variable named twice (by name and
 * by id) sees its own earlier write, for its version and its record. Atomic: any failure answers
 * `partial_failure` with nothing applied. Not atomic: what passes is planned and `failed` names
 * the rest (the caller answers `batchOutcome` after committing). A malformed `expectedVersions`
 * is a caller's mistake: `invalid_argument` for the whole call. `refused` holds items that failed
 * before planning (a value the wire could not decode): each fails with that error, in the order
 * `planWrite` states.
 */
export function planBatch(
  view: RecordView,
  updates: readonly (readonly [Identifier, unknown])[],
  metadata: Metadata,
  expectedVersions: unknown,
  atomic: boolean,
  context: PlanContext,
  refused?: ReadonlyMap<Identifier, StateError>,
): Result<BatchPlan> {
  const expectations = checkExpectations(updates, expectedVersions);
  if (!expectations.ok) return expectations;
  const changes: Change[] = [];
  const identifiers: Identifier[] = [];
  let failed: Record<Identifier, StateError> | undefined;
  // The records as this batch will have left them so far, by id.
  const overlay = new Map<VariableId, VariableRecord>();
  for (const [identifier, value] of updates) {
    const resolved = view.resolve(identifier);
    const current = resolved === undefined ? undefined : (overlay.get(resolved.id) ?? resolved);
    const planned =
      current === undefined
        ? err(StateErrors.notFound(identifier))
        : planWriteOf(
            current,
            identifier,
            value,
            metadata,
            own(expectations.value, identifier),
            current.version,
            context,
            refused?.get(identifier),
          );
    if (!planned.ok) {
      failed ??= {};
      define(failed, identifier, planned.error);
      continue;
    }
    const change = planned.value;
    overlay.set(change.record.id, change.record);
    changes.push(change);
    // The record's own string when equal: identifiers decoded from the wire are new strings each
    // batch, and keying the answer by a string the store keeps saves hashing each one anew.
    const { name } = change.record;
    identifiers.push(identifier === name ? name : identifier);
  }
  if (failed !== undefined && atomic) return err(StateErrors.partialFailure(failed, []));
  return ok({ changes, identifiers, failed });
}

function checkExpectations(
  updates: readonly (readonly [Identifier, unknown])[],
  expectedVersions: unknown,
): Result<Readonly<Record<Identifier, number>> | undefined> {
  if (expectedVersions === undefined || expectedVersions === null) return ok(undefined);
  if (typeof expectedVersions !== "object" || Array.isArray(expectedVersions)) {
    return err(
      StateErrors.invalidArgument(
        `expectedVersions must be an object of identifier → version, got ${describeValue(expectedVersions)}`,
      ),
    );
  }
  const expectations = expectedVersions as Readonly<Record<Identifier, unknown>>;
  for (const [identifier] of updates) {
    if (!Object.hasOwn(expectations, identifier)) continue;
    const checked = checkExpectedVersion(expectations[identifier], identifier);
    if (!checked.ok) return checked;
  }
  return ok(expectations as Readonly<Record<Identifier, number>>);
}

/**
 * What a batch answers once its plan committed: identifier (as given) → new version, or
 * `partial_failure` naming what failed and what was applied.
 */
export function batchOutcome(plan: BatchPlan): Result<Readonly<Record<Identifier, number>>> {
  if (plan.failed !== undefined) {
    return err(StateErrors.partialFailure(plan.failed, plan.identifiers));
  }
  const versions: Record<Identifier, number> = {};
  const { changes, identifiers } = plan;
  for (let i = 0; i < changes.length; i++) {
    define(versions, identifiers[i]!, changes[i]!.record.version);
  }
  return ok(versions);
}

/** A deletion: `not_found`, or the removed record with its event (timestamped now). */
export function planDelete(
  view: RecordView,
  identifier: Identifier,
  context: PlanContext,
): Result<Change> {
  const current = view.resolve(identifier);
  if (current === undefined) return err(StateErrors.notFound(identifier));
  return ok({ kind: "deleted", record: current, previous: current, timestamp: context.now });
}

/** An import's plan: the changes in document order and the session metadata after it. */
export interface ImportPlan {
  readonly changes: readonly Change[];
  readonly sessionMetadata: Metadata;
}

/**
 * Merges a parsed export, all or nothing: a record replaces the one with its id (`updated`) or is
 * added (`registered`), keeping id, version, timestamps, metadata and source. Names are judged on
 * the end state: a name conflicts only when its holder is not among the records the import
 * replaces, so an import may rename and swap names. Stored limits hold for every record, the
 * session's size and its merged metadata.
 */
export function planImport(
  view: RecordView,
  parsed: ParsedExport,
  sessionMetadata: Metadata,
  context: PlanContext,
): Result<ImportPlan> {
  const { limits } = context;
  const replaced = new Set<VariableId>();
  for (const record of parsed.records)
    if (view.byId(record.id) !== undefined) replaced.add(record.id);
  for (const record of parsed.records) {
    const holder = view.idOfName(record.name);
    if (holder !== undefined && holder !== record.id && !replaced.has(holder)) {
      return err(StateErrors.alreadyExists(record.name));
    }
    const tooLarge =
      checkValueSize(record.name, record.type, record.value, limits) ??
      checkStoredMetadata(record.metadata, limits, `variable ${JSON.stringify(record.name)}`);
    if (tooLarge !== undefined) return err(tooLarge);
  }
  const added = parsed.records.length - replaced.size;
  if (view.size + added > limits.maxVariablesPerSession) {
    return err(
      StateErrors.limitExceeded(
        "maxVariablesPerSession",
        limits.maxVariablesPerSession,
        `cannot import ${added} new variables into a session holding ${view.size}`,
      ),
    );
  }
  const merged = mergeMetadata(sessionMetadata, parsed.metadata);
  const tooLarge = checkStoredMetadata(merged, limits, "the session");
  if (tooLarge !== undefined) return err(tooLarge);
  const changes = parsed.records.map((record): Change => {
    const previous = view.byId(record.id);
    const kind = previous === undefined ? "registered" : "updated";
    return { kind, record, previous, timestamp: record.updatedAt };
  });
  return ok({ changes, sessionMetadata: merged });
}

/**
 * The session metadata of a session `init` opens with a document: the document's, with the
 * caller's `metadata` merged over it (the caller's entries win), so a migration keeps what the
 * session carried and the caller can still override it.
 */
export function initialSessionMetadata(
  document: ParsedExport | undefined,
  given: Metadata,
): Metadata {
  return document === undefined ? given : mergeMetadata(document.metadata, given);
}
