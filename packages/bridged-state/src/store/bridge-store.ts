import type {
  Identifier,
  Metadata,
  ParsedExport,
  PartialFailureError,
  RegistrationInput,
  Result,
  VariableEvent,
  VariableRecord,
} from "@dspex/state-provider";
import type { SessionEndReason, SessionInfo } from "./session-store.js";

/**
 * What a `BridgeServer` serves: sessions of variables behind one asynchronous interface, so the
 * same handlers run on the in-memory store (`MemoryBridgeStore`, today's `SessionStore`) and on
 * a shared one (`RedisBridgeStore` in `@dspex/bridged-state/redis`), where many bridges serve the
 * same sessions. Every rule of the contract is the backend core's, inside each store; this
 * interface only says where a session lives. Errors are the contract's tagged results; a store
 * that cannot be reached answers `unavailable`.
 */
export interface BridgeStore {
  /** For logs and the health line: `memory`, `redis://127.0.0.1:6379`, ... */
  readonly description: string;
  /** Whether the store answers; a server reports NOT_SERVING while it does not. */
  readonly health: StoreHealth;

  /** `already_exists` when the session is there (another bridge may have made it). */
  createSession(sessionId: string, metadata: Metadata): Promise<Result<SessionInfo>>;
  /** `touch: false` (the inspector) leaves the idle timer. */
  getSession(sessionId: string, options?: ReadOptions): Promise<Result<SessionInfo>>;
  /** `ok` when the session exists, refreshing its idle timer; `session_not_found` otherwise. */
  touch(sessionId: string): Promise<Result<undefined>>;
  /** Answers how many variables went with it. Its watchers end (here and on other bridges). */
  deleteSession(sessionId: string): Promise<Result<number>>;
  /** Live sessions; does not refresh their idle timers. */
  listSessions(): Promise<Result<readonly SessionInfo[]>>;

  /** Answers the new variable's id. */
  register(
    sessionId: string,
    input: RegistrationInput,
    options?: KeyedOptions,
  ): Promise<Result<{ readonly id: string }>>;
  get(sessionId: string, identifier: Identifier): Promise<Result<VariableRecord>>;
  /** Found records keyed by identifier as given; missing ones are left out. */
  getMany(
    sessionId: string,
    identifiers: readonly Identifier[],
  ): Promise<Result<ReadonlyMap<Identifier, VariableRecord>>>;
  /** Every variable in registration order. `touch: false` (the inspector) leaves the idle timer. */
  list(sessionId: string, options?: ReadOptions): Promise<Result<readonly VariableRecord[]>>;
  /**
   * `value` may be an `EncodedValue` (a wire `Any`): the store's plan decodes it for the
   * variable's type. Answers the new version.
   */
  set(
    sessionId: string,
    identifier: Identifier,
    value: unknown,
    metadata: Metadata,
    options: SetOptions,
  ): Promise<Result<number>>;
  /**
   * Item failures are an answer, not an error: `failure` (`partial_failure`) names them, and
   * `versions` those of the applied items (none when atomic). Not atomic, what passes is applied.
   */
  update(
    sessionId: string,
    updates: ReadonlyMap<Identifier, unknown>,
    metadata: Metadata,
    options: UpdateOptions,
  ): Promise<Result<BatchApplied>>;
  delete(
    sessionId: string,
    identifier: Identifier,
    options?: KeyedOptions,
  ): Promise<Result<undefined>>;
  /** Merges a validated export document, all or nothing; answers how many variables it held. */
  import(sessionId: string, parsed: ParsedExport): Promise<Result<number>>;
  /** Retained records of a variable, newest (the current one) first, at most `limit`. */
  history(
    sessionId: string,
    identifier: Identifier,
    limit: number | undefined,
    options?: ReadOptions,
  ): Promise<Result<readonly VariableRecord[]>>;
  /**
   * Hears every committed change of the session, in commit order, until `close`. With `after`
   * (an event's `cursor`), the changes committed after it come first when the store still holds
   * them (`begin(true)`); otherwise the watch starts now (`begin(false)`) and the caller catches
   * up from a snapshot. A malformed `after` is `invalid_argument`.
   */
  watch(
    sessionId: string,
    listener: WatchListener,
    options?: { readonly after?: string },
  ): Promise<Result<StoreWatch>>;

  /** Ends what the store holds for this server (its own connections; never other bridges' data). */
  close(): Promise<void>;
}

export interface ReadOptions {
  /** Default true: the read counts as a use of the session. */
  readonly touch?: boolean;
}

/**
 * A request id: a call sent again with the same one answers the first call's outcome instead of
 * applying twice (where the store keeps recent ones; both stores do).
 */
export interface KeyedOptions {
  readonly requestId?: string | undefined;
}

export interface SetOptions extends KeyedOptions {
  readonly expectedVersion?: number | undefined;
}

export interface UpdateOptions extends KeyedOptions {
  readonly atomic: boolean;
  readonly expectedVersions?: Readonly<Record<Identifier, number>>;
}

export interface BatchApplied {
  /** Identifier (as given) → new version, for every applied item. */
  readonly versions: Readonly<Record<Identifier, number>>;
  /** Set when a non-atomic batch applied only part: what failed. */
  readonly failure?: PartialFailureError;
}

export interface WatchListener {
  /** Called once, before any change: whether the changes after `after` follow (no snapshot). */
  begin(resumed: boolean): void;
  change(event: VariableEvent): void;
  /** The session ended (deleted, expired, or the store closed); no change follows. */
  end(reason: SessionEndReason): void;
}

export interface StoreWatch {
  /** Idempotent. */
  close(): void;
}

export interface StoreHealth {
  readonly available: boolean;
  /** Calls `listener` on each change of `available`; answers the way to stop. */
  onChange(listener: (available: boolean) => void): () => void;
}

/** The health of a store that is always there (in memory). */
export const ALWAYS_AVAILABLE: StoreHealth = Object.freeze({
  available: true,
  onChange: () => () => {},
});
