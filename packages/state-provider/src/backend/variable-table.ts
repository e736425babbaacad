import type {
  Identifier,
  Metadata,
  Subscriber,
  SubscriptionId,
  VariableId,
  VariableRecord,
  VariableVersion,
} from "../contract.js";
import { type StateError, StateErrors } from "../errors.js";
import { buildCheckedExport, type ExportedState, type ParsedExport } from "../export-format.js";
import { err, ok, type Result } from "../result.js";
import { type SubscriberErrorHandler, SubscriberSet } from "../subscribers.js";
import { checkExpectedVersion, type RegistrationInput } from "../types/validation.js";
import type { VariableValue } from "../types/variable-types.js";
import { newTableTag, tableIdNumber, tableVariableId } from "./ids.js";
import { DEFAULT_LIMITS, type StoreLimits } from "./limits.js";
import {
  batchOutcome,
  type Change,
  changeEvent,
  type PlanContext,
  planBatch,
  planDelete,
  planImport,
  planRegistration,
  planWriteTo,
  type RecordView,
} from "./plans.js";

/**
 * A variable's retained records once it was written (the current one included), oldest at
 * `oldest` once the ring is full: a write stores one reference and copies nothing. Until its
 * first write a variable has none: its record alone is its history.
 */
interface History {
  readonly records: VariableRecord[];
  oldest: number;
}

/** A retained record as `getVariableHistory` answers it. */
export function versionOf(record: VariableRecord): VariableVersion {
  return Object.freeze({
    version: record.version,
    value: record.value,
    metadata: record.metadata,
    source: record.source,
    timestamp: record.updatedAt,
  });
}

export interface VariableTableOptions {
  readonly limits?: StoreLimits;
  /** Where errors thrown by subscribers go (default: `console.error`). They never reach the writer. */
  readonly onSubscriberError?: SubscriberErrorHandler;
  /** The session's metadata to start with. */
  readonly metadata?: Metadata;
}

/**
 * The variables of one session in memory: the plans applied to their records, and the session's
 * subscribers told after each commit. The records are held as they are (no wrapper per
 * variable) in a Map by name; an id the table made leads to its name through an array (the id's
 * number is the index), any other id to its record through a Map. Every operation is synchronous, so a change and its events are one step no
 * other call interleaves with. LocalState, the bridge's SessionStore and the
 * MemoryProvider keep their variables in one of these.
 */
export class VariableTable implements RecordView {
  /** Every record by name, in registration order (the order `list` answers). */
  readonly #byName = new Map<string, VariableRecord>();
  /** The tag of the ids this table makes (`tableVariableId`). */
  readonly #tag = newTableTag();
  /**
   * The names of the variables whose ids this table made, id number `n` at `n - #madeBase`: such
   * an id needs no Map entry (37 B less per variable), and a write, which keeps the name, touches
   * nothing here. A removed one leaves a hole; once holes outnumber the names, those records
   * move to `#byId` and numbering goes on past them.
   */
  #made: (string | undefined)[] = [];
  #madeBase = 0;
  #holes = 0;
  /** The other records (imported ones), by id. */
  readonly #byId = new Map<VariableId, VariableRecord>();
  /** The histories of variables written at least once, by id. */
  readonly #histories = new Map<VariableId, History>();
  readonly #subscribers: SubscriberSet;
  readonly #limits: StoreLimits;
  readonly #maxVersions: number;
  /**
   * Reused by every plan (plans are synchronous): only `now` changes between calls. `now` starts
   * undefined so V8 keeps the field tagged: it holds one boxed number per millisecond, which
   * every record committed in that millisecond shares (16 B less per record of a burst).
   */
  readonly #context: { limits: StoreLimits; now: number };
  /** Frozen snapshot for `list`; dropped on every change. */
  #listed: readonly VariableRecord[] | undefined;
  #metadata: Metadata;

  constructor(options: VariableTableOptions = {}) {
    this.#limits = options.limits ?? DEFAULT_LIMITS;
    this.#maxVersions = this.#limits.maxVersionsPerVariable;
    this.#context = { limits: this.#limits, now: undefined as unknown as number };
    this.#subscribers = new SubscriberSet(options.onSubscriberError);
    this.#metadata = options.metadata ?? Object.freeze({});
  }

  // ---- RecordView ----

  resolve(identifier: Identifier): VariableRecord | undefined {
    return this.#withId(identifier) ?? this.#byName.get(identifier);
  }

  byId(id: VariableId): VariableRecord | undefined {
    return this.#withId(id);
  }

  idOfName(name: string): VariableId | undefined {
    return this.#byName.get(name)?.id;
  }

  get size(): number {
    return this.#byName.size;
  }

  // ---- reads ----

  /** The session's metadata. */
  get metadata(): Metadata {
    return this.#metadata;
  }

  #at(now: number): PlanContext {
    if (this.#context.now !== now) this.#context.now = now;
    return this.#context;
  }

  /** Merges into the session's metadata (callers check it first). */
  set metadata(metadata: Metadata) {
    this.#metadata = metadata;
  }

  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  record(identifier: Identifier): Result<VariableRecord> {
    const record = this.resolve(identifier);
    return record === undefined ? err(StateErrors.notFound(identifier)) : ok(record);
  }

  /**
   * As `record`, answering the value; the hot path of every backend built on a table. A fresh
   * result each time: a promise resolves with a new object faster than with a cached frozen one.
   */
  value(identifier: Identifier): Result<VariableValue> {
    const record = this.resolve(identifier);
    return record === undefined ? err(StateErrors.notFound(identifier)) : ok(record.value);
  }

  /** The found records keyed by the identifiers as given; missing ones are skipped. */
  records(identifiers: readonly Identifier[]): Map<Identifier, VariableRecord> {
    const found = new Map<Identifier, VariableRecord>();
    for (const identifier of identifiers) {
      const record = this.resolve(identifier);
      if (record !== undefined) found.set(identifier, record);
    }
    return found;
  }

  /**
   * The retained versions of a variable, newest first (the current one first), at most `limit`
   * of them. A removed variable's history went with it: `not_found`.
   */
  history(identifier: Identifier, limit?: number): Result<VariableVersion[]> {
    const records = this.versions(identifier, limit);
    return records.ok ? ok(records.value.map(versionOf)) : records;
  }

  /** As `history`, answering the retained records themselves (the bridge sends them as they are). */
  versions(identifier: Identifier, limit = Number.POSITIVE_INFINITY): Result<VariableRecord[]> {
    const record = this.resolve(identifier);
    if (record === undefined) return err(StateErrors.notFound(identifier));
    const history = this.#histories.get(record.id);
    const versions = history?.records ?? [record];
    const oldest = history?.oldest ?? 0;
    const count = Math.min(limit, versions.length);
    const out = new Array<VariableRecord>(count);
    for (let i = 0; i < count; i++) {
      out[i] = versions[(oldest + versions.length - 1 - i) % versions.length]!;
    }
    return ok(out);
  }

  /** Every record in registration order (a frozen array, shared until the next change). */
  list(): readonly VariableRecord[] {
    if (this.#listed === undefined) {
      // A plain loop: `Array.from` with a mapper is ~8× slower here.
      const out = new Array<VariableRecord>(this.#byName.size);
      let i = 0;
      for (const record of this.#byName.values()) out[i++] = record;
      this.#listed = Object.freeze(out);
    }
    return this.#listed;
  }

  export(sessionId: string): ExportedState {
    // Every stored record came through the plans or parseExport: no need to check them again.
    return buildCheckedExport(sessionId, this.list(), this.#metadata);
  }

  // ---- writes: plan, apply, tell ----

  register(input: RegistrationInput, now: number = Date.now()): Result<VariableRecord> {
    // An imported id or a name may hold the next id: skip it (a hole).
    let id = tableVariableId(this.#madeBase + this.#made.length, this.#tag);
    while (this.#byId.has(id) || this.#byName.has(id)) {
      this.#made.push(undefined);
      this.#holes++;
      id = tableVariableId(this.#madeBase + this.#made.length, this.#tag);
    }
    const planned = planRegistration(this, input, id, this.#at(now));
    if (!planned.ok) return planned;
    this.#commit([planned.value]);
    return ok(planned.value.record);
  }

  /** `refused`: the value failed before planning (see `planWrite`). */
  write(
    identifier: Identifier,
    value: unknown,
    metadata: Metadata,
    expectedVersion: unknown,
    refused?: StateError,
    now: number = Date.now(),
  ): Result<VariableRecord> {
    // planWrite's order, with the record at hand: the write then needs no second lookup.
    if (expectedVersion !== undefined) {
      const checked = checkExpectedVersion(expectedVersion, identifier);
      if (!checked.ok) return checked;
    }
    const current = this.resolve(identifier);
    if (current === undefined) return err(StateErrors.notFound(identifier));
    const planned = planWriteTo(
      current,
      identifier,
      value,
      metadata,
      expectedVersion as number | undefined,
      this.#at(now),
      refused,
    );
    if (!planned.ok) return planned;
    const change = planned.value;
    if (change.previous?.name !== change.record.name) this.#commit([change]);
    else {
      const { record } = change;
      this.#retain(record, current);
      this.#replace(current, record);
      this.#byName.set(record.name, record);
      this.#listed = undefined;
      if (this.#subscribers.size > 0) this.#subscribers.emit(changeEvent(change));
    }
    return ok(change.record);
  }

  /** Atomic by default; `atomic: false` applies what passes (see `planBatch`, also for `refused`). */
  writeMany(
    updates: readonly (readonly [Identifier, unknown])[],
    metadata: Metadata,
    expectedVersions: unknown,
    atomic = true,
    refused?: ReadonlyMap<Identifier, StateError>,
    now: number = Date.now(),
  ): Result<Readonly<Record<Identifier, number>>> {
    const context = this.#at(now);
    const planned = planBatch(this, updates, metadata, expectedVersions, atomic, context, refused);
    if (!planned.ok) return planned;
    this.#commit(planned.value.changes);
    return batchOutcome(planned.value);
  }

  remove(identifier: Identifier, now: number = Date.now()): Result<VariableRecord> {
    const planned = planDelete(this, identifier, this.#at(now));
    if (!planned.ok) return planned;
    this.#commit([planned.value]);
    return ok(planned.value.record);
  }

  /**
   * Merges a parsed export into the table and the session metadata, all or nothing. A document
   * carries no history, so each imported variable's history starts again at its imported record.
   */
  import(parsed: ParsedExport, now: number = Date.now()): Result<undefined> {
    const planned = planImport(this, parsed, this.#metadata, this.#at(now));
    if (!planned.ok) return planned;
    this.#metadata = planned.value.sessionMetadata;
    this.#commit(planned.value.changes, true);
    return ok();
  }

  // ---- subscriptions ----

  subscribe(pattern: string, subscriber: Subscriber): SubscriptionId {
    return this.#subscribers.add(pattern, subscriber);
  }

  /** Idempotent. */
  unsubscribe(subscription: SubscriptionId): void {
    this.#subscribers.remove(subscription);
  }

  /** Drops every variable and subscription (the session ended). */
  clear(): void {
    this.#madeBase += this.#made.length;
    this.#made = [];
    this.#holes = 0;
    this.#byId.clear();
    this.#byName.clear();
    this.#histories.clear();
    this.#listed = undefined;
    this.#subscribers.clear();
  }

  /**
   * Adds a committed record to its variable's ring, dropping the oldest once it is full.
   * `previous` is the record it replaces (the history's only member before the first write).
   */
  #retain(record: VariableRecord, previous: VariableRecord): void {
    const history = this.#histories.get(record.id);
    if (history === undefined) {
      const records = this.#maxVersions > 1 ? [previous, record] : [record];
      this.#histories.set(record.id, { records, oldest: 0 });
      return;
    }
    const { records } = history;
    if (records.length < this.#maxVersions) {
      records.push(record);
      return;
    }
    records[history.oldest] = record;
    history.oldest = (history.oldest + 1) % records.length;
  }

  // ---- storage by id ----

  /** The index in `#made` of `record` (as stored now), or -1. */
  #madeSlot(record: VariableRecord): number {
    const slot = tableIdNumber(record.id, this.#tag) - this.#madeBase;
    return slot >= 0 && slot < this.#made.length && this.#made[slot] === record.name ? slot : -1;
  }

  #withId(id: string): VariableRecord | undefined {
    const slot = tableIdNumber(id, this.#tag) - this.#madeBase;
    if (slot >= 0 && slot < this.#made.length) {
      const name = this.#made[slot];
      const record = name === undefined ? undefined : this.#byName.get(name);
      if (record?.id === id) return record;
    }
    return this.#byId.size === 0 ? undefined : this.#byId.get(id);
  }

  /** Stores a record new to the table (`#byName` is the caller's): in `#made` when its id is the next this table makes. */
  #add(record: VariableRecord): void {
    if (tableIdNumber(record.id, this.#tag) === this.#madeBase + this.#made.length) {
      this.#made.push(record.name);
    } else this.#byId.set(record.id, record);
  }

  /** Stores `record` in place of `previous`, its stored record (`#byName` is the caller's). */
  #replace(previous: VariableRecord, record: VariableRecord): void {
    if (this.#byId.size !== 0 && this.#byId.get(record.id) !== undefined) {
      this.#byId.set(record.id, record);
    } else if (previous.name !== record.name) {
      this.#made[this.#madeSlot(previous)] = record.name;
    }
  }

  #removeId(record: VariableRecord): void {
    if (this.#byId.delete(record.id)) return;
    this.#made[this.#madeSlot(record)] = undefined;
    this.#holes++;
  }

  /** Once holes outnumber the names in `#made`, its records move to `#byId`. */
  #compactMade(): void {
    if (this.#holes <= 64 || this.#holes * 2 <= this.#made.length) return;
    for (const name of this.#made) {
      const record = name === undefined ? undefined : this.#byName.get(name);
      if (record !== undefined) this.#byId.set(record.id, record);
    }
    this.#madeBase += this.#made.length;
    this.#made = [];
    this.#holes = 0;
  }

  /** After a rename: every record back at its place in `before`, records new to it after them. */
  #keepOrder(before: readonly VariableRecord[]): void {
    const after = [...this.#byName.values()];
    const byId = new Map(after.map((record) => [record.id, record]));
    this.#byName.clear();
    for (const old of before) {
      const record = byId.get(old.id);
      if (record !== undefined) this.#byName.set(record.name, record);
    }
    for (const record of after) {
      if (!this.#byName.has(record.name)) this.#byName.set(record.name, record);
    }
  }

  /**
   * Applies planned changes in order, then tells subscribers of all of them, in order.
   * `restartHistory` (an import): each changed variable's history becomes its new record alone.
   */
  #commit(changes: readonly Change[], restartHistory = false): void {
    // A rename (an import) would move the record to the end of `#byName`: `#keepOrder` after.
    let before: VariableRecord[] | undefined;
    for (let i = 0; i < changes.length && before === undefined; i++) {
      const { kind, record, previous } = changes[i]!;
      if (kind !== "deleted" && previous !== undefined && previous.name !== record.name) {
        before = [...this.#byName.values()];
      }
    }
    // Free the old names of removed and renamed records first: an import may swap names.
    for (let i = 0; i < changes.length; i++) {
      const { kind, record, previous } = changes[i]!;
      if (previous === undefined || (kind !== "deleted" && previous.name === record.name)) continue;
      if (this.#byName.get(previous.name)?.id === previous.id) {
        this.#byName.delete(previous.name);
      }
    }
    for (let i = 0; i < changes.length; i++) {
      const { kind, record, previous } = changes[i]!;
      if (kind === "deleted") {
        this.#removeId(record);
        this.#histories.delete(record.id);
        continue;
      }
      // `previous` is the stored record this one replaces (a batch's earlier write included).
      if (previous === undefined) this.#add(record);
      else {
        if (restartHistory) this.#histories.delete(record.id);
        else this.#retain(record, previous);
        this.#replace(previous, record);
      }
      this.#byName.set(record.name, record);
    }
    if (before !== undefined) this.#keepOrder(before);
    this.#compactMade();
    this.#listed = undefined;
    if (this.#subscribers.size > 0) this.#subscribers.emitAll(changes.map(changeEvent));
  }
}
