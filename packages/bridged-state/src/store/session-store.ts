import {
  type ExportedState,
  err,
  type Identifier,
  type Metadata,
  ok,
  type ParsedExport,
  parseExport,
  type RegistrationInput,
  type Result,
  type StateError,
  StateErrors,
  type Subscriber,
  type SubscriptionId,
  type VariableRecord,
} from "@dspex/state-provider";
import {
  checkSessionId,
  checkStoredMetadata,
  checkWriteMetadata,
  type StoreLimits,
  storeLimits,
  VariableTable,
} from "@dspex/state-provider/backend";
import { MAX_TIMER_MS, numberOption } from "../options.js";

export interface SessionStoreOptions {
  /** Idle time after which an unpinned session expires. Default 1 hour; `Infinity` never. */
  readonly sessionTtlMs?: number;
  /** How often the sweep looks for expired sessions. Default: min(TTL, 60 s). */
  readonly sweepIntervalMs?: number;
  /** Default 10 000. */
  readonly maxSessions?: number;
  /** Default 10 000. */
  readonly maxVariablesPerSession?: number;
  /** Size of a value as UTF-8 JSON (its wire encoding). Default 8 MiB. */
  readonly maxValueBytes?: number;
  /** Entries of one variable's (or the session's) metadata, as stored. Default 256. */
  readonly maxMetadataEntries?: number;
  /** UTF-8 bytes of one variable's (or the session's) metadata, as stored. Default 64 KiB. */
  readonly maxMetadataBytes?: number;
  /** Versions kept per variable for its history, the current one included. Default 100. */
  readonly maxVersionsPerVariable?: number;
}

export interface SessionInfo {
  readonly id: string;
  readonly metadata: Metadata;
  /** Wall-clock epoch milliseconds. */
  readonly createdAt: number;
  readonly lastAccessAt: number;
  readonly variableCount: number;
  /** Pinned sessions never expire (in-process owners pin theirs until cleanup). */
  readonly pinned: boolean;
}

export interface SessionStoreStats {
  readonly sessions: number;
  readonly variables: number;
  /**
   * Data operations that reached the store (reads and writes), including failed ones; a wire
   * registration refused while decoding (unknown type, bad Any) never reaches it.
   */
  readonly operations: number;
  /** Sessions removed because they were idle longer than the TTL. */
  readonly expirations: number;
}

/** Why a session ended, as told to its end listeners (watch streams end on it). */
export type SessionEndReason = "deleted" | "expired" | "closed";

export interface CreateSessionOptions {
  readonly metadata?: Metadata;
  readonly pinned?: boolean;
}

/** Raw registration input; the core's `planRegistration` checks it. */
export type RegisterInput = RegistrationInput;

export interface BatchOptions {
  /** Validate everything first and apply nothing when any item fails. Default true. */
  readonly atomic?: boolean;
  readonly expectedVersions?: Readonly<Record<Identifier, number>>;
}

/** Found records keyed by the identifier as given, plus the identifiers that matched nothing. */
export interface BatchGet {
  readonly found: ReadonlyMap<Identifier, VariableRecord>;
  readonly missing: readonly Identifier[];
}

/** A value already decoded but not yet checked, or one that failed to decode. */
export type PendingValue = { readonly value: unknown } | { readonly error: StateError };

interface Session {
  readonly id: string;
  readonly createdAt: number;
  lastAccessAt: number;
  pinned: boolean;
  /** The variables, their subscribers and the session metadata: the backend core's rules. */
  readonly table: VariableTable;
  readonly endListeners: Set<(reason: SessionEndReason) => void>;
}

const DEFAULTS = {
  sessionTtlMs: 60 * 60 * 1000,
  maxSessions: 10_000,
  maxVariablesPerSession: 10_000,
  maxValueBytes: 8 * 1024 * 1024,
} as const;

let generatedSessions = 0;

/**
 * Sessions of variables, shared by every way in: BridgedState in-process, the BridgeService for
 * Python workers and remote Node processes. Each session's variables are a `VariableTable` of
 * the backend core, so the contract's rules are the core's; the store adds sessions, their idle
 * TTL, limits and stats. Every operation is synchronous, so a write and its events are one step
 * no other call can interleave with (Node runs one handler at a time).
 */
export class SessionStore {
  readonly #sessions = new Map<string, Session>();
  readonly #ttlMs: number;
  readonly #maxSessions: number;
  readonly #limits: StoreLimits;
  readonly #sweep: NodeJS.Timeout | undefined;
  #operations = 0;
  #expirations = 0;
  #closed = false;

  constructor(options: SessionStoreOptions = {}) {
    this.#ttlMs = positive("sessionTtlMs", options.sessionTtlMs, DEFAULTS.sessionTtlMs);
    this.#maxSessions = positive("maxSessions", options.maxSessions, DEFAULTS.maxSessions);
    this.#limits = storeLimits(
      {
        maxVariablesPerSession: positive(
          "maxVariablesPerSession",
          options.maxVariablesPerSession,
          DEFAULTS.maxVariablesPerSession,
        ),
        maxValueBytes: positive("maxValueBytes", options.maxValueBytes, DEFAULTS.maxValueBytes),
        ...(options.maxMetadataEntries === undefined
          ? {}
          : { maxMetadataEntries: positive("maxMetadataEntries", options.maxMetadataEntries, 0) }),
        ...(options.maxMetadataBytes === undefined
          ? {}
          : { maxMetadataBytes: positive("maxMetadataBytes", options.maxMetadataBytes, 0) }),
        ...(options.maxVersionsPerVariable === undefined
          ? {}
          : {
              maxVersionsPerVariable: positive(
                "maxVersionsPerVariable",
                options.maxVersionsPerVariable,
                0,
              ),
            }),
      },
      "SessionStore",
    );
    if (Number.isFinite(this.#ttlMs)) {
      const every = positive(
        "sweepIntervalMs",
        options.sweepIntervalMs,
        Math.min(this.#ttlMs, 60_000),
        MAX_TIMER_MS,
      );
      // Unref'd: an idle store must not keep the process alive.
      this.#sweep = setInterval(() => this.sweepExpired(), every);
      this.#sweep.unref();
    }
  }

  get limits(): {
    sessionTtlMs: number;
    maxSessions: number;
    maxVariablesPerSession: number;
    maxValueBytes: number;
    maxMetadataEntries: number;
    maxMetadataBytes: number;
    maxVersionsPerVariable: number;
  } {
    return { sessionTtlMs: this.#ttlMs, maxSessions: this.#maxSessions, ...this.#limits };
  }

  // ---- sessions ----

  createSession(sessionId?: string, options: CreateSessionOptions = {}): Result<SessionInfo> {
    if (this.#closed) return err(StateErrors.closed("SessionStore"));
    const checked = checkSessionId(
      sessionId ?? `session_${Date.now().toString(36)}_${++generatedSessions}`,
    );
    if (!checked.ok) return checked;
    const id = checked.value;
    const existing = this.#live(id);
    if (existing !== undefined) {
      return err({
        code: "already_exists",
        identifier: id,
        message: `session ${JSON.stringify(id)} already exists`,
      });
    }
    if (this.#sessions.size >= this.#maxSessions) {
      this.sweepExpired();
      if (this.#sessions.size >= this.#maxSessions) {
        return err(
          StateErrors.limitExceeded(
            "maxSessions",
            this.#maxSessions,
            `cannot create session ${JSON.stringify(id)}: ${this.#sessions.size} sessions exist`,
          ),
        );
      }
    }
    const metadata = checkWriteMetadata(options.metadata);
    if (!metadata.ok) return metadata;
    const tooLarge = checkStoredMetadata(
      metadata.value,
      this.#limits,
      `session ${JSON.stringify(id)}`,
    );
    if (tooLarge !== undefined) return err(tooLarge);
    const now = Date.now();
    const session: Session = {
      id,
      createdAt: now,
      lastAccessAt: now,
      pinned: options.pinned === true,
      table: new VariableTable({ limits: this.#limits, metadata: metadata.value }),
      endListeners: new Set(),
    };
    this.#sessions.set(id, session);
    return ok(infoOf(session));
  }

  getSession(sessionId: string): Result<SessionInfo> {
    const session = this.#session(sessionId);
    if (!session.ok) return session;
    return ok(infoOf(session.value));
  }

  /** True when the session exists (and has not expired); refreshes its idle timer. */
  touch(sessionId: string): boolean {
    return this.#session(sessionId).ok;
  }

  /** Sessions that have not expired. Does not refresh their idle timers. */
  listSessions(): SessionInfo[] {
    this.sweepExpired();
    return [...this.#sessions.values()].map(infoOf);
  }

  /** Deletes a session, ends its subscriptions and tells its end listeners; answers how many variables went with it. */
  deleteSession(sessionId: string): Result<number> {
    const session = this.#session(sessionId);
    if (!session.ok) return session;
    const count = session.value.table.size;
    this.#end(session.value, "deleted");
    return ok(count);
  }

  /** Pins (never expires) or unpins a session. */
  setPinned(sessionId: string, pinned: boolean): Result<undefined> {
    const session = this.#session(sessionId);
    if (!session.ok) return session;
    session.value.pinned = pinned;
    return ok();
  }

  /** Removes every idle session past its TTL. Runs on a timer; callable by hand. */
  sweepExpired(): number {
    if (!Number.isFinite(this.#ttlMs)) return 0;
    const now = Date.now();
    let removed = 0;
    for (const session of this.#sessions.values()) {
      if (this.#isExpired(session, now)) {
        this.#expire(session);
        removed++;
      }
    }
    return removed;
  }

  /** Calls `listener` once when the session ends (deleted, expired or the store closed). */
  onSessionEnd(
    sessionId: string,
    listener: (reason: SessionEndReason) => void,
  ): Result<() => void> {
    const session = this.#session(sessionId);
    if (!session.ok) return session;
    const listeners = session.value.endListeners;
    listeners.add(listener);
    return ok(() => {
      listeners.delete(listener);
    });
  }

  stats(): SessionStoreStats {
    let variables = 0;
    for (const session of this.#sessions.values()) variables += session.table.size;
    return {
      sessions: this.#sessions.size,
      variables,
      operations: this.#operations,
      expirations: this.#expirations,
    };
  }

  /** Ends every session (their watchers are told) and stops the sweep. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#sweep !== undefined) clearInterval(this.#sweep);
    for (const session of [...this.#sessions.values()]) this.#end(session, "closed");
  }

  get closed(): boolean {
    return this.#closed;
  }

  // ---- variables ----

  register(sessionId: string, input: RegisterInput): Result<VariableRecord> {
    const session = this.#op(sessionId);
    if (!session.ok) return session;
    return session.value.table.register(input);
  }

  get(sessionId: string, identifier: Identifier): Result<VariableRecord> {
    const session = this.#op(sessionId);
    if (!session.ok) return session;
    return session.value.table.record(identifier);
  }

  /** The current record without counting an operation or refreshing the idle timer (for watchers). */
  peek(sessionId: string, id: string): VariableRecord | undefined {
    return this.#sessions.get(sessionId)?.table.byId(id);
  }

  /** As `peek`, resolving an identifier (id first, then name). */
  peekByIdentifier(sessionId: string, identifier: Identifier): VariableRecord | undefined {
    return this.#sessions.get(sessionId)?.table.resolve(identifier);
  }

  /**
   * The variable's retained records, newest first (the current one first), at most `limit`;
   * the last `maxVersionsPerVariable` are kept (see `VariableTable.versions`).
   */
  history(
    sessionId: string,
    identifier: Identifier,
    limit?: number,
  ): Result<readonly VariableRecord[]> {
    const session = this.#op(sessionId);
    if (!session.ok) return session;
    return session.value.table.versions(identifier, limit);
  }

  /** As `list`, without counting an operation or refreshing the idle timer (for the inspector). */
  peekList(sessionId: string): readonly VariableRecord[] | undefined {
    return this.#closed ? undefined : this.#live(sessionId)?.table.list();
  }

  /** As `history`, without counting an operation or refreshing the idle timer (for the inspector). */
  peekHistory(
    sessionId: string,
    identifier: Identifier,
    limit?: number,
  ): Result<readonly VariableRecord[]> {
    const session = this.#closed ? undefined : this.#live(sessionId);
    if (session === undefined) return err(StateErrors.sessionNotFound(sessionId));
    return session.table.versions(identifier, limit);
  }

  getMany(sessionId: string, identifiers: readonly Identifier[]): Result<BatchGet> {
    const session = this.#op(sessionId);
    if (!session.ok) return session;
    const found = session.value.table.records(identifiers);
    const missing = identifiers.filter((identifier) => !found.has(identifier));
    return ok({ found, missing });
  }

  /** Every variable in registration order, or those whose name matches a glob. */
  list(sessionId: string, matches?: (name: string) => boolean): Result<readonly VariableRecord[]> {
    const session = this.#op(sessionId);
    if (!session.ok) return session;
    const all = session.value.table.list();
    return ok(matches === undefined ? all : all.filter((record) => matches(record.name)));
  }

  /**
   * Sets one variable. `value` is raw (checked here); `expectedVersion` undefined means no
   * expectation (the wire's 0 is turned into undefined by the server); one that is not a
   * non-negative integer is `invalid_argument`. A failure changes nothing.
   */
  set(
    sessionId: string,
    identifier: Identifier,
    value: unknown,
    metadata?: Metadata,
    expectedVersion?: number,
  ): Result<VariableRecord> {
    return this.setPending(sessionId, identifier, { value }, metadata, expectedVersion);
  }

  /**
   * As `set`, for a value decoded from the wire (or that failed to decode): an unknown session
   * or variable is reported before the decoding error, and the call counts as one operation.
   */
  setPending(
    sessionId: string,
    identifier: Identifier,
    pending: PendingValue,
    metadata?: Metadata,
    expectedVersion?: number,
  ): Result<VariableRecord> {
    const session = this.#op(sessionId);
    if (!session.ok) return session;
    const table = session.value.table;
    const checkedMetadata = checkWriteMetadata(metadata);
    if (!checkedMetadata.ok) return checkedMetadata;
    // A value that failed to decode is a value problem: answered where the plan answers values.
    if ("error" in pending) {
      const { error } = pending;
      return table.write(identifier, undefined, checkedMetadata.value, expectedVersion, error);
    }
    return table.write(identifier, pending.value, checkedMetadata.value, expectedVersion);
  }

  /**
   * Sets several variables. Atomic (default): everything is validated first and nothing is
   * applied when any item fails. Otherwise what passes is applied. Failures answer
   * `partial_failure` naming each failing identifier and the applied ones. A malformed expected
   * version is a wrong argument: `invalid_argument` for the whole call, nothing applied.
   */
  update(
    sessionId: string,
    updates: ReadonlyMap<Identifier, PendingValue>,
    metadata?: Metadata,
    options: BatchOptions = {},
  ): Result<Readonly<Record<Identifier, number>>> {
    const entries: [Identifier, unknown][] = [];
    let refused: Map<Identifier, StateError> | undefined;
    for (const [identifier, pending] of updates) {
      if ("error" in pending) {
        refused ??= new Map();
        refused.set(identifier, pending.error);
        entries.push([identifier, undefined]);
      } else entries.push([identifier, pending.value]);
    }
    return this.#writeMany(sessionId, entries, metadata, options, refused);
  }

  /**
   * `update` with every value known (a value or an `EncodedValue`, which the plan decodes):
   * what a bridge sends, without wrapping each item.
   */
  updateValues(
    sessionId: string,
    values: ReadonlyMap<Identifier, unknown>,
    metadata?: Metadata,
    options: BatchOptions = {},
  ): Result<Readonly<Record<Identifier, number>>> {
    return this.#writeMany(sessionId, [...values], metadata, options, undefined);
  }

  #writeMany(
    sessionId: string,
    entries: readonly (readonly [Identifier, unknown])[],
    metadata: Metadata | undefined,
    options: BatchOptions,
    refused: ReadonlyMap<Identifier, StateError> | undefined,
  ): Result<Readonly<Record<Identifier, number>>> {
    const session = this.#op(sessionId);
    if (!session.ok) return session;
    const checkedMetadata = checkWriteMetadata(metadata);
    if (!checkedMetadata.ok) return checkedMetadata;
    return session.value.table.writeMany(
      entries,
      checkedMetadata.value,
      options.expectedVersions,
      options.atomic !== false,
      refused,
    );
  }

  delete(sessionId: string, identifier: Identifier): Result<VariableRecord> {
    const session = this.#op(sessionId);
    if (!session.ok) return session;
    return session.value.table.remove(identifier);
  }

  // ---- export, import, subscriptions ----

  export(sessionId: string): Result<ExportedState> {
    const session = this.#op(sessionId);
    if (!session.ok) return session;
    return ok(session.value.table.export(session.value.id));
  }

  /**
   * Merges an export document, all or nothing (the core's import rules: ids kept, names judged
   * on the end state, limits on what is stored). Answers how many variables it held.
   */
  import(sessionId: string, document: unknown): Result<number> {
    const session = this.#op(sessionId);
    if (!session.ok) return session;
    const parsed = parseExport(document);
    if (!parsed.ok) return parsed;
    return this.#importParsed(session.value, parsed.value);
  }

  /** As `import`, for a document already validated by `parseExport`. */
  importParsed(sessionId: string, parsed: ParsedExport): Result<number> {
    const session = this.#op(sessionId);
    if (!session.ok) return session;
    return this.#importParsed(session.value, parsed);
  }

  #importParsed(session: Session, parsed: ParsedExport): Result<number> {
    const imported = session.table.import(parsed);
    return imported.ok ? ok(parsed.records.length) : imported;
  }

  /** Calls `subscriber` after each committed change to a variable whose name matches `pattern`. */
  subscribe(sessionId: string, pattern: string, subscriber: Subscriber): Result<SubscriptionId> {
    const session = this.#session(sessionId);
    if (!session.ok) return session;
    return ok(session.value.table.subscribe(pattern, subscriber));
  }

  /** Idempotent; an unknown session or subscription is not an error. */
  unsubscribe(sessionId: string, subscription: SubscriptionId): void {
    this.#sessions.get(sessionId)?.table.unsubscribe(subscription);
  }

  // ---- internals ----

  #op(sessionId: string): Result<Session> {
    this.#operations++;
    return this.#session(sessionId);
  }

  /** The live session, touched; expired sessions are removed on the spot. */
  #session(sessionId: string): Result<Session> {
    if (this.#closed) return err(StateErrors.closed("SessionStore"));
    const session = this.#live(sessionId);
    if (session === undefined) return err(StateErrors.sessionNotFound(sessionId));
    session.lastAccessAt = Date.now();
    return ok(session);
  }

  #live(sessionId: string): Session | undefined {
    const session = this.#sessions.get(sessionId);
    if (session === undefined) return undefined;
    if (this.#isExpired(session, Date.now())) {
      this.#expire(session);
      return undefined;
    }
    return session;
  }

  #isExpired(session: Session, now: number): boolean {
    return !session.pinned && now - session.lastAccessAt > this.#ttlMs;
  }

  #expire(session: Session): void {
    this.#expirations++;
    this.#end(session, "expired");
  }

  #end(session: Session, reason: SessionEndReason): void {
    if (this.#sessions.get(session.id) !== session) return;
    this.#sessions.delete(session.id);
    session.table.clear();
    for (const listener of [...session.endListeners]) {
      try {
        listener(reason);
      } catch (error) {
        console.error(`dspex-bridge: a session end listener threw for ${session.id}:`, error);
      }
    }
    session.endListeners.clear();
  }
}

function infoOf(session: Session): SessionInfo {
  return {
    id: session.id,
    metadata: session.table.metadata,
    createdAt: session.createdAt,
    lastAccessAt: session.lastAccessAt,
    variableCount: session.table.size,
    pinned: session.pinned,
  };
}

function positive(name: string, value: number | undefined, fallback: number, max?: number): number {
  return numberOption("SessionStore", name, value, fallback, max === undefined ? {} : { max });
}
