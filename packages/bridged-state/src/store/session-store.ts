import { randomUUID } from "node:crypto";
import {
  buildExport,
  checkExpectedVersion,
  checkMetadata,
  checkRegistration,
  checkValue,
  type ExportedState,
  encodeValueJson,
  err,
  eventOf,
  type Identifier,
  type Metadata,
  mergeMetadata,
  ok,
  parseExport,
  type Result,
  type StateError,
  StateErrors,
  type Subscriber,
  SubscriberSet,
  type SubscriptionId,
  sourceOf,
  type VariableEvent,
  type VariableRecord,
  type VariableType,
  type VariableValue,
  writtenRecord,
} from "@dspex/state-provider";
import { MAX_TIMER_MS, numberOption } from "../options.js";
import { define, own } from "../own-keys.js";

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

export interface RegisterInput {
  readonly name: unknown;
  readonly type: unknown;
  readonly value: unknown;
  readonly constraints?: unknown;
  readonly metadata?: unknown;
  readonly description?: unknown;
}

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
  metadata: Metadata;
  readonly createdAt: number;
  lastAccessAt: number;
  pinned: boolean;
  /** Registration order is the Map's insertion order. */
  readonly variables: Map<string, VariableRecord>;
  readonly names: Map<string, string>;
  readonly subscribers: SubscriberSet;
  readonly endListeners: Set<(reason: SessionEndReason) => void>;
}

const DEFAULTS = {
  sessionTtlMs: 60 * 60 * 1000,
  maxSessions: 10_000,
  maxVariablesPerSession: 10_000,
  maxValueBytes: 8 * 1024 * 1024,
} as const;

let generatedSessions = 0;

// Ids are opaque: a process-wide counter keeps them short and distinct across stores, the random
// tag keeps ids of different processes apart when one's export is imported into another.
let idCounter = 0;
const processTag = randomUUID().slice(0, 6);

function newId(session: Session): string {
  let id: string;
  // Imported ids are kept, so skip any taken; ids resolve before names, so an id equal to an
  // existing name would hide that variable.
  do id = `var_${(++idCounter).toString(36)}_${processTag}`;
  while (session.variables.has(id) || session.names.has(id));
  return id;
}

/**
 * Sessions of variables, shared by every way in: BridgedState in-process, the BridgeService for
 * Python workers and remote Node processes. Every value is validated by the contract's type
 * system; every operation is synchronous, so a write and its events are one step no other call
 * can interleave with (Node runs one handler at a time).
 */
export class SessionStore {
  readonly #sessions = new Map<string, Session>();
  readonly #ttlMs: number;
  readonly #maxSessions: number;
  readonly #maxVariables: number;
  readonly #maxValueBytes: number;
  readonly #sweep: NodeJS.Timeout | undefined;
  #operations = 0;
  #expirations = 0;
  #closed = false;

  constructor(options: SessionStoreOptions = {}) {
    this.#ttlMs = positive("sessionTtlMs", options.sessionTtlMs, DEFAULTS.sessionTtlMs);
    this.#maxSessions = positive("maxSessions", options.maxSessions, DEFAULTS.maxSessions);
    this.#maxVariables = positive(
      "maxVariablesPerSession",
      options.maxVariablesPerSession,
      DEFAULTS.maxVariablesPerSession,
    );
    this.#maxValueBytes = positive("maxValueBytes", options.maxValueBytes, DEFAULTS.maxValueBytes);
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
  } {
    return {
      sessionTtlMs: this.#ttlMs,
      maxSessions: this.#maxSessions,
      maxVariablesPerSession: this.#maxVariables,
      maxValueBytes: this.#maxValueBytes,
    };
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
    const metadata = checkMetadata(options.metadata);
    if (!metadata.ok) return metadata;
    const now = Date.now();
    const session: Session = {
      id,
      metadata: metadata.value,
      createdAt: now,
      lastAccessAt: now,
      pinned: options.pinned === true,
      variables: new Map(),
      names: new Map(),
      subscribers: new SubscriberSet(),
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
    const count = session.value.variables.size;
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
    for (const session of this.#sessions.values()) variables += session.variables.size;
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
    const s = session.value;
    const checked = checkRegistration(input);
    if (!checked.ok) return checked;
    const { name, type, value, constraints, metadata } = checked.value;
    if (s.names.has(name)) return err(StateErrors.alreadyExists(name));
    if (s.variables.size >= this.#maxVariables) {
      return err(
        StateErrors.limitExceeded(
          "maxVariablesPerSession",
          this.#maxVariables,
          `cannot register ${JSON.stringify(name)}: session ${JSON.stringify(s.id)} holds ${s.variables.size} variables`,
        ),
      );
    }
    const tooLarge = this.#checkSize(name, type, value);
    if (tooLarge !== undefined) return err(tooLarge);
    const id = newId(s);
    const now = Date.now();
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
    s.variables.set(id, record);
    s.names.set(name, id);
    s.subscribers.emit(eventOf("registered", record, undefined));
    return ok(record);
  }

  get(sessionId: string, identifier: Identifier): Result<VariableRecord> {
    const session = this.#op(sessionId);
    if (!session.ok) return session;
    const record = resolve(session.value, identifier);
    return record === undefined ? err(StateErrors.notFound(identifier)) : ok(record);
  }

  /** The current record without counting an operation or refreshing the idle timer (for watchers). */
  peek(sessionId: string, id: string): VariableRecord | undefined {
    return this.#sessions.get(sessionId)?.variables.get(id);
  }

  /** As `peek`, resolving an identifier (id first, then name). */
  peekByIdentifier(sessionId: string, identifier: Identifier): VariableRecord | undefined {
    const session = this.#sessions.get(sessionId);
    return session === undefined ? undefined : resolve(session, identifier);
  }

  getMany(sessionId: string, identifiers: readonly Identifier[]): Result<BatchGet> {
    const session = this.#op(sessionId);
    if (!session.ok) return session;
    const found = new Map<Identifier, VariableRecord>();
    const missing: Identifier[] = [];
    for (const identifier of identifiers) {
      const record = resolve(session.value, identifier);
      if (record === undefined) missing.push(identifier);
      else found.set(identifier, record);
    }
    return ok({ found, missing });
  }

  /** Every variable in registration order, or those whose name matches a glob. */
  list(sessionId: string, matches?: (name: string) => boolean): Result<VariableRecord[]> {
    const session = this.#op(sessionId);
    if (!session.ok) return session;
    const all = [...session.value.variables.values()];
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
    if (expectedVersion !== undefined) {
      const argument = checkExpectedVersion(expectedVersion, identifier);
      if (!argument.ok) return argument;
    }
    const prepared = this.#prepare(session.value, identifier, pending, metadata, expectedVersion);
    if (!prepared.ok) return prepared;
    const { record, event } = this.#commit(session.value, prepared.value);
    session.value.subscribers.emit(event);
    return ok(record);
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
  ): Result<Map<Identifier, VariableRecord>> {
    const session = this.#op(sessionId);
    if (!session.ok) return session;
    const s = session.value;
    const expectations = options.expectedVersions;
    if (expectations !== undefined) {
      for (const identifier of updates.keys()) {
        if (!Object.hasOwn(expectations, identifier)) continue;
        const argument = checkExpectedVersion(expectations[identifier], identifier);
        if (!argument.ok) return argument;
      }
    }
    const atomic = options.atomic !== false;
    const failed: Record<string, StateError> = {};
    const prepared: [Identifier, Prepared][] = [];
    // Two entries may name one variable (by id and by name): later ones see earlier ones.
    const pendingVersions = new Map<string, number>();
    for (const [identifier, pending] of updates) {
      const expected = own(options.expectedVersions, identifier);
      const item = this.#prepare(s, identifier, pending, metadata, expected, pendingVersions);
      if (!item.ok) define(failed, identifier, item.error);
      else {
        prepared.push([identifier, item.value]);
        pendingVersions.set(item.value.current.id, item.value.current.version + 1);
      }
    }
    const failures = Object.keys(failed).length;
    if (failures > 0 && atomic) return err(StateErrors.partialFailure(failed, []));
    const written = new Map<Identifier, VariableRecord>();
    const events: VariableEvent[] = [];
    for (const [identifier, item] of prepared) {
      const latest = s.variables.get(item.current.id) ?? item.current;
      const { record, event } = this.#commit(s, { ...item, current: latest });
      written.set(identifier, record);
      events.push(event);
    }
    // Subscribers hear of a batch once all of it has committed, in commit order.
    s.subscribers.emitAll(events);
    if (failures > 0) return err(StateErrors.partialFailure(failed, [...written.keys()]));
    return ok(written);
  }

  delete(sessionId: string, identifier: Identifier): Result<VariableRecord> {
    const session = this.#op(sessionId);
    if (!session.ok) return session;
    const s = session.value;
    const record = resolve(s, identifier);
    if (record === undefined) return err(StateErrors.notFound(identifier));
    s.variables.delete(record.id);
    s.names.delete(record.name);
    s.subscribers.emit(eventOf("deleted", record, record.value, Date.now()));
    return ok(record);
  }

  // ---- export, import, subscriptions ----

  export(sessionId: string): Result<ExportedState> {
    const session = this.#op(sessionId);
    if (!session.ok) return session;
    return ok(
      buildExport(session.value.id, session.value.variables.values(), session.value.metadata),
    );
  }

  /**
   * Merges an export document, all or nothing: records keep id, version, timestamps, metadata,
   * source and constraints; a record replaces the one with its id; a name held by another id
   * that the import does not replace is `already_exists` (names of replaced variables are free,
   * so an import may swap names). Emits `registered` for new variables and `updated` for
   * replaced ones.
   */
  import(sessionId: string, document: unknown): Result<number> {
    const session = this.#op(sessionId);
    if (!session.ok) return session;
    const s = session.value;
    const parsed = parseExport(document);
    if (!parsed.ok) return parsed;
    const { records, metadata } = parsed.value;
    const replaced = new Set<string>();
    for (const record of records) if (s.variables.has(record.id)) replaced.add(record.id);
    const added = records.length - replaced.size;
    for (const record of records) {
      // Conflicts are judged on the end state: the holder keeps its name only if it stays as is.
      const holder = s.names.get(record.name);
      if (holder !== undefined && holder !== record.id && !replaced.has(holder)) {
        return err(StateErrors.alreadyExists(record.name));
      }
      const tooLarge = this.#checkSize(record.name, record.type, record.value);
      if (tooLarge !== undefined) return err(tooLarge);
    }
    if (s.variables.size + added > this.#maxVariables) {
      return err(
        StateErrors.limitExceeded(
          "maxVariablesPerSession",
          this.#maxVariables,
          `cannot import ${added} new variables into session ${JSON.stringify(s.id)} holding ${s.variables.size}`,
        ),
      );
    }
    // Free the old names of replaced variables first: the import may swap names between them.
    for (const id of replaced) {
      const name = (s.variables.get(id) as VariableRecord).name;
      if (s.names.get(name) === id) s.names.delete(name);
    }
    const events: VariableEvent[] = [];
    for (const record of records) {
      const previous = s.variables.get(record.id);
      s.variables.set(record.id, record);
      s.names.set(record.name, record.id);
      events.push(
        previous === undefined
          ? eventOf("registered", record, undefined)
          : eventOf("updated", record, previous.value),
      );
    }
    s.metadata = mergeMetadata(s.metadata, metadata);
    s.subscribers.emitAll(events);
    return ok(records.length);
  }

  /** Calls `subscriber` after each committed change to a variable whose name matches `matches`. */
  subscribe(sessionId: string, pattern: string, subscriber: Subscriber): Result<SubscriptionId> {
    const session = this.#session(sessionId);
    if (!session.ok) return session;
    return ok(session.value.subscribers.add(pattern, subscriber));
  }

  /** Idempotent; an unknown session or subscription is not an error. */
  unsubscribe(sessionId: string, subscription: SubscriptionId): void {
    this.#sessions.get(sessionId)?.subscribers.remove(subscription);
  }

  // ---- internals ----

  #prepare(
    s: Session,
    identifier: Identifier,
    pending: PendingValue,
    metadata: Metadata | undefined,
    expectedVersion: number | undefined,
    pendingVersions?: ReadonlyMap<string, number>,
  ): Result<Prepared> {
    const current = resolve(s, identifier);
    if (current === undefined) return err(StateErrors.notFound(identifier));
    if ("error" in pending) return err(pending.error);
    const version = pendingVersions?.get(current.id) ?? current.version;
    if (expectedVersion !== undefined && expectedVersion !== version) {
      return err(StateErrors.versionConflict(identifier, expectedVersion, version));
    }
    const value = checkValue(current.name, current.type, pending.value, current.constraints);
    if (!value.ok) return value;
    const checkedMetadata = checkMetadata(metadata, current.name);
    if (!checkedMetadata.ok) return checkedMetadata;
    const tooLarge = this.#checkSize(current.name, current.type, value.value);
    if (tooLarge !== undefined) return err(tooLarge);
    return ok({ current, value: value.value, metadata: checkedMetadata.value });
  }

  /** Applies a prepared write; the caller emits the event once everything it commits is in. */
  #commit(
    s: Session,
    { current, value, metadata }: Prepared,
  ): { record: VariableRecord; event: VariableEvent } {
    const record = writtenRecord(current, value, metadata);
    s.variables.set(record.id, record);
    return { record, event: eventOf("updated", record, current.value) };
  }

  #checkSize(name: string, type: VariableType, value: VariableValue): StateError | undefined {
    if (typeof value === "number" || typeof value === "boolean") return undefined;
    // Fast path only when even the worst case fits: a code unit is at most 6 bytes in JSON
    // (control characters and lone surrogates are escaped as \uXXXX).
    if (typeof value === "string" && value.length * 6 + 2 <= this.#maxValueBytes) return undefined;
    const bytes = Buffer.byteLength(encodeValueJson(type, value));
    if (bytes <= this.#maxValueBytes) return undefined;
    return StateErrors.limitExceeded(
      "maxValueBytes",
      this.#maxValueBytes,
      `value of variable ${JSON.stringify(name)} is ${bytes} bytes as JSON`,
    );
  }

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
    session.subscribers.clear();
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

interface Prepared {
  readonly current: VariableRecord;
  readonly value: VariableValue;
  readonly metadata: Metadata;
}

/** A caller-given session id must be a non-empty string (every way in checks it here). */
export function checkSessionId(sessionId: unknown): Result<string> {
  if (typeof sessionId !== "string" || sessionId === "") {
    return err(StateErrors.invalidArgument("session id must be a non-empty string"));
  }
  return ok(sessionId);
}

function resolve(session: Session, identifier: Identifier): VariableRecord | undefined {
  const byId = session.variables.get(identifier);
  if (byId !== undefined) return byId;
  const id = session.names.get(identifier);
  return id === undefined ? undefined : session.variables.get(id);
}

function infoOf(session: Session): SessionInfo {
  return {
    id: session.id,
    metadata: session.metadata,
    createdAt: session.createdAt,
    lastAccessAt: session.lastAccessAt,
    variableCount: session.variables.size,
    pinned: session.pinned,
  };
}

function positive(name: string, value: number | undefined, fallback: number, max?: number): number {
  return numberOption("SessionStore", name, value, fallback, max === undefined ? {} : { max });
}
