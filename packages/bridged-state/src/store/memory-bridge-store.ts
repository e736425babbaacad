import {
  err,
  type Identifier,
  type Metadata,
  ok,
  type ParsedExport,
  type RegistrationInput,
  type Result,
  StateErrors,
  type SubscriptionId,
  type VariableEvent,
  type VariableRecord,
} from "@dspex/state-provider";
import { define } from "@dspex/state-provider/backend";
import {
  ALWAYS_AVAILABLE,
  type BatchApplied,
  type BridgeStore,
  type KeyedOptions,
  type ReadOptions,
  type SetOptions,
  type StoreWatch,
  type UpdateOptions,
  type WatchListener,
} from "./bridge-store.js";
import type { SessionInfo, SessionStore } from "./session-store.js";

/** Changes kept per watched session for watchers that resume; request ids kept per session. */
export const MEMORY_FEED_RETENTION = 1024;
export const MEMORY_REQUEST_RETENTION = 1024;

/**
 * What the store keeps of one session beyond its variables, for the wire: the changes since it
 * was first watched (a ring, with their cursors) and the outcomes of recent writes by request id.
 */
class SessionExtras {
  /** Sequence number of the last change heard. */
  seq = 0;
  /**
   * The last `MEMORY_FEED_RETENTION` changes since the session was first watched, a circular
   * buffer: change `n` sits at `n % MEMORY_FEED_RETENTION`. Nobody holds a cursor from before
   * the first watch, so until then a change only counts.
   */
  readonly ring: VariableEvent[] = [];
  /** How many changes the ring holds (the last `kept`, up to `seq`). */
  kept = 0;
  watched = false;
  readonly watchers = new Set<WatchListener>();
  /** Insertion-ordered, so the oldest outcome is dropped first. */
  readonly outcomes = new Map<string, Outcome>();
  feed: SubscriptionId | undefined;
  release: (() => void) | undefined;

  remember(requestId: string | undefined, outcome: Outcome): void {
    if (requestId === undefined) return;
    this.outcomes.set(requestId, outcome);
    if (this.outcomes.size > MEMORY_REQUEST_RETENTION) {
      this.outcomes.delete(this.outcomes.keys().next().value as string);
    }
  }
}

/** What a call with a request id answered, by kind (an id reused on another kind applies anew). */
type Outcome =
  | { readonly kind: "set"; readonly version: number }
  | { readonly kind: "update"; readonly applied: BatchApplied }
  | { readonly kind: "register"; readonly id: string }
  | { readonly kind: "delete" };

let stores = 0;
const shared = new WeakMap<SessionStore, MemoryBridgeStore>();

/**
 * The in-memory `SessionStore` as a `BridgeStore`: each call is the store's synchronous one, so
 * a write and its events still happen in one step. Several `BridgeServer`s in one process may
 * share it; like a Redis store it then keeps, per session, the last changes with cursors (so a
 * watcher moving between them resumes exactly) and recent request ids (so a retried write
 * applies once). Both are bounded and go with the session.
 */
export class MemoryBridgeStore implements BridgeStore {
  readonly description = "memory";
  readonly health = ALWAYS_AVAILABLE;
  /** Cursors of another store (or an earlier process) never match this one's. */
  readonly #prefix = `m${(++stores).toString(36)}.${Date.now().toString(36)}:`;
  readonly #extras = new Map<string, SessionExtras>();

  /** One per `SessionStore`, so bridges sharing a store share its cursors and request ids. */
  static of(sessions: SessionStore): MemoryBridgeStore {
    let store = shared.get(sessions);
    if (store === undefined) {
      store = new MemoryBridgeStore(sessions);
      shared.set(sessions, store);
    }
    return store;
  }

  private constructor(readonly sessions: SessionStore) {}

  /** The session's extras, made on first use and dropped when the session ends. */
  #extrasOf(sessionId: string): Result<SessionExtras> {
    const existing = this.#extras.get(sessionId);
    if (existing !== undefined) return ok(existing);
    const extras = new SessionExtras();
    const feed = this.sessions.subscribe(sessionId, "*", (event) => {
      const seq = ++extras.seq;
      if (!extras.watched) return;
      extras.ring[seq % MEMORY_FEED_RETENTION] = event;
      if (extras.kept < MEMORY_FEED_RETENTION) extras.kept++;
      // The cursor is spelled out only for someone listening (most writes go unwatched).
      if (extras.watchers.size === 0) return;
      const heard = this.#withCursor(event, seq);
      for (const watcher of extras.watchers) watcher.change(heard);
    });
    if (!feed.ok) return feed;
    const ending = this.sessions.onSessionEnd(sessionId, (reason) => {
      this.#extras.delete(sessionId);
      for (const watcher of [...extras.watchers]) watcher.end(reason);
      extras.watchers.clear();
    });
    if (!ending.ok) {
      this.sessions.unsubscribe(sessionId, feed.value);
      return ending;
    }
    extras.feed = feed.value;
    extras.release = ending.value;
    this.#extras.set(sessionId, extras);
    return ok(extras);
  }

  async createSession(sessionId: string, metadata: Metadata): Promise<Result<SessionInfo>> {
    return this.sessions.createSession(sessionId, { metadata });
  }

  async getSession(sessionId: string, options?: ReadOptions): Promise<Result<SessionInfo>> {
    if (options?.touch !== false || this.sessions.closed)
      return this.sessions.getSession(sessionId);
    const info = this.sessions.listSessions().find((session) => session.id === sessionId);
    return info === undefined ? err(StateErrors.sessionNotFound(sessionId)) : ok(info);
  }

  async touch(sessionId: string): Promise<Result<undefined>> {
    if (this.sessions.closed) return err(StateErrors.closed("SessionStore"));
    return this.sessions.touch(sessionId) ? ok() : err(StateErrors.sessionNotFound(sessionId));
  }

  async deleteSession(sessionId: string): Promise<Result<number>> {
    return this.sessions.deleteSession(sessionId);
  }

  async listSessions(): Promise<Result<readonly SessionInfo[]>> {
    if (this.sessions.closed) return err(StateErrors.closed("SessionStore"));
    return ok(this.sessions.listSessions());
  }

  async register(
    sessionId: string,
    input: RegistrationInput,
    options: KeyedOptions = {},
  ): Promise<Result<{ readonly id: string }>> {
    const extras = this.#keyed(sessionId, options);
    if (extras !== undefined && !extras.ok) return extras;
    const known = this.#outcome(extras, options, "register");
    if (known !== undefined) return ok({ id: known.id });
    const registered = this.sessions.register(sessionId, input);
    if (!registered.ok) return registered;
    extras?.value.remember(options.requestId, { kind: "register", id: registered.value.id });
    return ok({ id: registered.value.id });
  }

  async get(sessionId: string, identifier: Identifier): Promise<Result<VariableRecord>> {
    return this.sessions.get(sessionId, identifier);
  }

  async getMany(
    sessionId: string,
    identifiers: readonly Identifier[],
  ): Promise<Result<ReadonlyMap<Identifier, VariableRecord>>> {
    const got = this.sessions.getMany(sessionId, identifiers);
    return got.ok ? ok(got.value.found) : got;
  }

  async list(sessionId: string, options?: ReadOptions): Promise<Result<readonly VariableRecord[]>> {
    if (options?.touch === false) {
      const listed = this.sessions.peekList(sessionId);
      return listed === undefined ? err(StateErrors.sessionNotFound(sessionId)) : ok(listed);
    }
    return this.sessions.list(sessionId);
  }

  async set(
    sessionId: string,
    identifier: Identifier,
    value: unknown,
    metadata: Metadata,
    options: SetOptions,
  ): Promise<Result<number>> {
    const extras = this.#keyed(sessionId, options);
    if (extras !== undefined && !extras.ok) return extras;
    const known = this.#outcome(extras, options, "set");
    if (known !== undefined) return ok(known.version);
    const written = this.sessions.set(
      sessionId,
      identifier,
      value,
      metadata,
      options.expectedVersion,
    );
    if (!written.ok) return written;
    extras?.value.remember(options.requestId, { kind: "set", version: written.value.version });
    return ok(written.value.version);
  }

  async update(
    sessionId: string,
    updates: ReadonlyMap<Identifier, unknown>,
    metadata: Metadata,
    options: UpdateOptions,
  ): Promise<Result<BatchApplied>> {
    const extras = this.#keyed(sessionId, options);
    if (extras !== undefined && !extras.ok) return extras;
    const known = this.#outcome(extras, options, "update");
    if (known !== undefined) return ok(known.applied);
    const written = this.sessions.updateValues(sessionId, updates, metadata, {
      atomic: options.atomic,
      ...(options.expectedVersions === undefined
        ? {}
        : { expectedVersions: options.expectedVersions }),
    });
    let applied: BatchApplied;
    if (written.ok) applied = { versions: written.value };
    else {
      const failure = written.error;
      if (failure.code !== "partial_failure") return written;
      // Synchronous: nothing ran between the batch and these reads, so they are its versions.
      const versions: Record<Identifier, number> = {};
      for (const identifier of failure.applied) {
        const record = this.sessions.peekByIdentifier(sessionId, identifier);
        if (record !== undefined) define(versions, identifier, record.version);
      }
      applied = { versions, failure };
    }
    extras?.value.remember(options.requestId, { kind: "update", applied });
    return ok(applied);
  }

  async delete(
    sessionId: string,
    identifier: Identifier,
    options: KeyedOptions = {},
  ): Promise<Result<undefined>> {
    const extras = this.#keyed(sessionId, options);
    if (extras !== undefined && !extras.ok) return extras;
    if (this.#outcome(extras, options, "delete") !== undefined) return ok();
    const deleted = this.sessions.delete(sessionId, identifier);
    if (!deleted.ok) return deleted;
    extras?.value.remember(options.requestId, { kind: "delete" });
    return ok();
  }

  /** The session's extras when the call has a request id to look up and remember. */
  #keyed(sessionId: string, options: KeyedOptions): Result<SessionExtras> | undefined {
    return options.requestId === undefined ? undefined : this.#extrasOf(sessionId);
  }

  /** The remembered outcome of the call's request id, when it was a call of this kind. */
  #outcome<K extends Outcome["kind"]>(
    extras: Result<SessionExtras> | undefined,
    options: KeyedOptions,
    kind: K,
  ): Extract<Outcome, { kind: K }> | undefined {
    if (extras === undefined || !extras.ok || options.requestId === undefined) return undefined;
    const known = extras.value.outcomes.get(options.requestId);
    return known?.kind === kind ? (known as Extract<Outcome, { kind: K }>) : undefined;
  }

  async import(sessionId: string, parsed: ParsedExport): Promise<Result<number>> {
    return this.sessions.importParsed(sessionId, parsed);
  }

  async history(
    sessionId: string,
    identifier: Identifier,
    limit: number | undefined,
    options?: ReadOptions,
  ): Promise<Result<readonly VariableRecord[]>> {
    return options?.touch === false
      ? this.sessions.peekHistory(sessionId, identifier, limit)
      : this.sessions.history(sessionId, identifier, limit);
  }

  async watch(
    sessionId: string,
    listener: WatchListener,
    options: { readonly after?: string } = {},
  ): Promise<Result<StoreWatch>> {
    let after: number | undefined;
    if (options.after !== undefined && options.after !== "") {
      after = this.#seqOf(options.after);
      if (after === undefined && !/^m[0-9a-z]+\.[0-9a-z]+:\d+$/.test(options.after)) {
        return err(
          StateErrors.invalidArgument(
            `resume_after is not a cursor of this bridge's store: ${JSON.stringify(options.after.slice(0, 80))}`,
          ),
        );
      }
    }
    const extras = this.#extrasOf(sessionId);
    if (!extras.ok) return extras;
    const { ring, seq, kept } = extras.value;
    extras.value.watched = true;
    const oldest = seq - kept;
    // Resumable when nothing after the cursor has been dropped from the ring.
    const resumed = after !== undefined && after <= seq && after >= oldest;
    listener.begin(resumed);
    if (resumed) {
      for (let n = (after as number) + 1; n <= seq; n++) {
        listener.change(this.#withCursor(ring[n % MEMORY_FEED_RETENTION] as VariableEvent, n));
      }
    }
    extras.value.watchers.add(listener);
    return ok({ close: () => extras.value.watchers.delete(listener) });
  }

  #withCursor(event: VariableEvent, seq: number): VariableEvent {
    return { ...event, cursor: `${this.#prefix}${seq}` };
  }

  /** The sequence number of one of this store's cursors; undefined for anyone else's. */
  #seqOf(cursor: string): number | undefined {
    if (!cursor.startsWith(this.#prefix)) return undefined;
    const seq = Number(cursor.slice(this.#prefix.length));
    return Number.isSafeInteger(seq) && seq >= 0 ? seq : undefined;
  }

  /**
   * Nothing to release: what this holds goes with each session, and the `SessionStore` belongs
   * to whoever made it (a `BridgeServer` closes the one it made itself).
   */
  async close(): Promise<void> {}
}
