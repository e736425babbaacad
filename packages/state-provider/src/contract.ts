import type { ExportedState } from "./export-format.js";
import type { Result } from "./result.js";
import type { Constraints, VariableType, VariableValue } from "./types/index.js";

/**
 * Version of the contract in this package. A backend states the version it implements
 * (`StateProvider.contractVersion`); the conformance suite checks the major part.
 */
export const CONTRACT_VERSION = "1.1.0";

/** A variable is addressed by its name or its id. Ids are tried first, then names. */
export type Identifier = string;
export type VariableId = string;

/** Free-form annotations. String keys and string values, so every backend and the wire agree. */
export type Metadata = Readonly<Record<string, string>>;

/** Who made the last change. `typescript` for in-process writes unless the caller's metadata says otherwise. */
export type Source = string;

/** Everything a backend knows about one variable. Values are normalised and frozen. */
export interface VariableRecord {
  readonly id: VariableId;
  readonly name: string;
  readonly type: VariableType;
  readonly value: VariableValue;
  readonly constraints: Constraints;
  readonly metadata: Metadata;
  /** 1 at registration, +1 per successful set. */
  readonly version: number;
  /** Wall-clock epoch milliseconds. */
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly source: Source;
}

/** Flags a backend claims. The conformance suite tests every claim it makes. */
export interface Capabilities {
  /** `updateVariables` applies all updates or none. */
  readonly atomicUpdates: boolean;
  /** `subscribe` / `unsubscribe` deliver change events. */
  readonly streaming: boolean;
  /** Data survives a restart of the process that owns it. */
  readonly persistence: boolean;
  /** Several processes share the same session. */
  readonly distribution: boolean;
  /** `setVariable` / `updateVariables` honour an expected version. */
  readonly compareAndSet: boolean;
  /**
   * `getVariableHistory` answers a variable's retained versions. How many it retains is the
   * backend's to state (LocalState and the bridge: the last 100 per variable by default).
   */
  readonly history: boolean;
}

/** One version of a variable as `getVariableHistory` answers it (the current one included). */
export interface VariableVersion {
  readonly version: number;
  readonly value: VariableValue;
  /** The record's metadata as it stood at this version. */
  readonly metadata: Metadata;
  readonly source: Source;
  /** Wall-clock epoch milliseconds of the commit that made this version. */
  readonly timestamp: number;
}

export interface HistoryOptions {
  /** At most this many versions, the newest ones (a positive integer). Default: all retained. */
  readonly limit?: number;
}

export interface InitOptions {
  /** The session to hold. Backends generate one when omitted. */
  readonly sessionId?: string;
  /** A document from `exportState` to import before the state is handed out (migrations). */
  readonly existingState?: ExportedState;
  /** Session-level metadata. */
  readonly metadata?: Metadata;
}

export interface RegisterOptions {
  readonly constraints?: Readonly<Record<string, unknown>>;
  readonly metadata?: Metadata;
  /** Human-readable description; stored as `metadata.description`. */
  readonly description?: string;
  /**
   * As `WriteOptions.requestId`: a registration sent again with the same key answers the
   * first one's id instead of `already_exists`, on a backend that keeps recent keys.
   */
  readonly requestId?: string;
}

export interface DeleteOptions {
  /**
   * As `WriteOptions.requestId`: a deletion sent again with the same key answers the first
   * one's outcome instead of `not_found`, on a backend that keeps recent keys.
   */
  readonly requestId?: string;
}

export interface WriteOptions {
  /** Compare-and-set: fail with `version_conflict` unless the variable is at this version. */
  readonly expectedVersion?: number;
  /**
   * An idempotency key (1–128 characters): a write sent again with the same key after an
   * ambiguous failure answers the first attempt's outcome instead of applying twice, on a
   * backend that keeps recent keys (`RedisState` keeps them as long as its change feed retains
   * the commit). Other backends apply each call; in-process ones never fail ambiguously.
   */
  readonly requestId?: string;
}

export interface BatchWriteOptions {
  /** Compare-and-set per identifier (as given in `updates`). */
  readonly expectedVersions?: Readonly<Record<Identifier, number>>;
  /** As `WriteOptions.requestId`, for the whole batch. */
  readonly requestId?: string;
}

export type VariableEventKind = "registered" | "updated" | "deleted";

/** Sent to subscribers after a change has committed, in commit order per variable. */
export interface VariableEvent {
  readonly kind: VariableEventKind;
  readonly id: VariableId;
  readonly name: string;
  readonly type: VariableType;
  /** The value after the change (for `deleted`: the last value). */
  readonly value: VariableValue;
  /** The value before the change; `undefined` for `registered`. */
  readonly previousValue: VariableValue | undefined;
  readonly version: number;
  readonly metadata: Metadata;
  readonly source: Source;
  /** Wall-clock epoch milliseconds of the commit. */
  readonly timestamp: number;
  /**
   * The committed record (for `deleted`: the last one), so a watcher never goes back to the
   * store for constraints, timestamps or metadata; the store may have moved on meanwhile.
   */
  readonly record: VariableRecord;
  /**
   * Set on an event a watcher told to catch up after it lost part of the change feed (a stream
   * re-opened, history trimmed): the state it converges to is exact, the versions in between
   * were not replayed.
   */
  readonly resync?: true;
  /**
   * Where the backend keeps a change feed shared by processes (`RedisState`): this change's
   * position in it, opaque. A watcher that remembers the last one it heard can resume right
   * after it (the bridge's `resume_after`), without a snapshot.
   */
  readonly cursor?: string;
}

export type Subscriber = (event: VariableEvent) => void;
/** Opaque handle returned by `subscribe`. */
export type SubscriptionId = string;

/** What every mutating call hands back: the threaded state, plus what the call produced. */
export interface Registered<S> {
  readonly state: S;
  readonly id: VariableId;
}
export interface Written<S> {
  readonly state: S;
  /** The variable's version after the write. */
  readonly version: number;
}
export interface BatchWritten<S> {
  readonly state: S;
  /** Identifier (as given) → version after the write. */
  readonly versions: Readonly<Record<Identifier, number>>;
}
export interface Changed<S> {
  readonly state: S;
}

/**
 * The contract every state backend implements (TypeScript translation of the original
 * `DSPex.Bridge.StateProvider` behaviour). `S` is the backend's opaque state: callers thread
 * the state each mutating call returns into the next call.
 *
 * Every data operation is async and answers a `Result`; nothing here throws for a caller's
 * mistake. After `cleanup`, every call answers `closed`.
 */
export interface StateProvider<S = unknown> {
  /** Short name used in messages and reports (e.g. `LocalState`). */
  readonly name: string;
  /** The contract version this backend implements (see `CONTRACT_VERSION`). */
  readonly contractVersion: string;

  init(options?: InitOptions): Promise<Result<S>>;
  registerVariable(
    state: S,
    name: string,
    type: VariableType,
    initialValue: unknown,
    options?: RegisterOptions,
  ): Promise<Result<Registered<S>>>;
  /** The current value. */
  getVariable(state: S, identifier: Identifier): Promise<Result<VariableValue>>;
  /** The whole record: value, version, metadata, timestamps. */
  getVariableRecord(state: S, identifier: Identifier): Promise<Result<VariableRecord>>;
  setVariable(
    state: S,
    identifier: Identifier,
    value: unknown,
    metadata?: Metadata,
    options?: WriteOptions,
  ): Promise<Result<Written<S>>>;
  /** Every variable, ordered by registration. */
  listVariables(state: S): Promise<Result<readonly VariableRecord[]>>;
  /** Identifier (as given) → value, for the found ones; missing identifiers are skipped. */
  getVariables(
    state: S,
    identifiers: readonly Identifier[],
  ): Promise<Result<Readonly<Record<Identifier, VariableValue>>>>;
  /**
   * Identifier → new value. All or nothing where `capabilities().atomicUpdates`; otherwise
   * `partial_failure` names exactly which identifiers failed and which were applied.
   */
  updateVariables(
    state: S,
    updates: Readonly<Record<Identifier, unknown>>,
    metadata?: Metadata,
    options?: BatchWriteOptions,
  ): Promise<Result<BatchWritten<S>>>;
  deleteVariable(
    state: S,
    identifier: Identifier,
    options?: DeleteOptions,
  ): Promise<Result<Changed<S>>>;
  exportState(state: S): Promise<Result<ExportedState>>;
  /** Merges a document (validated: anything else is `invalid_export`) into the state, all or nothing. */
  importState(state: S, exported: unknown): Promise<Result<Changed<S>>>;
  /** True when this backend needs the Python bridge. */
  requiresBridge(): boolean;
  capabilities(): Capabilities;
  /** Releases every resource. Idempotent; afterwards every call answers `closed`. */
  cleanup(state: S): Promise<void>;

  /** Calls `subscriber` after each committed change to a variable whose name matches the glob. */
  subscribe?(state: S, pattern: string, subscriber: Subscriber): Promise<Result<SubscriptionId>>;
  /** Stops a subscription. Idempotent: an unknown or already removed id is not an error. */
  unsubscribe?(state: S, subscription: SubscriptionId): Promise<Result<undefined>>;

  /**
   * Where `capabilities().history`: the variable's retained versions, newest first, the current
   * one first of all. A deleted variable's history goes with it; a failed write adds nothing.
   * Without the capability it answers `unsupported`.
   */
  getVariableHistory?(
    state: S,
    identifier: Identifier,
    options?: HistoryOptions,
  ): Promise<Result<readonly VariableVersion[]>>;
}

/** The state type of a provider. */
export type StateOf<P> = P extends StateProvider<infer S> ? S : never;
