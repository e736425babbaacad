import type { RedisSession, RedisSessionInfo, RedisStateOptions } from "@dspex/redis-state";
import { RedisState } from "@dspex/redis-state";
import {
  type Identifier,
  type Metadata,
  ok,
  type ParsedExport,
  type RegisterOptions,
  type RegistrationInput,
  type Result,
  StateErrors,
  type VariableEvent,
  type VariableRecord,
  type VariableType,
} from "@dspex/state-provider";
import { define, own } from "@dspex/state-provider/backend";
import type {
  BatchApplied,
  BridgeStore,
  KeyedOptions,
  SetOptions,
  StoreHealth,
  StoreWatch,
  UpdateOptions,
  WatchListener,
} from "./bridge-store.js";
import type { SessionInfo } from "./session-store.js";

export interface RedisBridgeStoreOptions extends RedisStateOptions {
  /** How often the store's reachability is checked (health). Default 1000 ms. */
  readonly healthIntervalMs?: number;
  /** Sessions kept open at once (joined in Redis, their feeds); the least used close first. Default 10 000. */
  readonly maxOpenSessions?: number;
}

/**
 * A `BridgeStore` on Redis, built on `RedisState`: every bridge started on the same Redis (or
 * Cluster) serves the same sessions, and every rule is `RedisState`'s (so the backend core's).
 * A write commits in one Lua script; a watcher hears every bridge's writes in commit order, each
 * with a cursor, and resumes from one heard on any bridge; a write retried with its request id
 * applies once whichever bridge it reaches.
 *
 * ```ts
 * const store = unwrap(await RedisBridgeStore.open({ url: "redis://127.0.0.1:6379" }));
 * const server = await BridgeServer.start({ store });
 * ```
 */
export class RedisBridgeStore implements BridgeStore {
  readonly description: string;
  readonly provider: RedisState;
  readonly health: StoreHealth;
  readonly #release: () => Promise<void>;
  readonly #maxOpen: number;
  /** Sessions joined by this bridge, least recently used first. */
  readonly #open = new Map<string, Promise<Result<RedisSession>>>();
  /** Open watches per session: a watched session is never closed to make room. */
  readonly #watched = new Map<string, number>();
  readonly #listeners = new Set<(available: boolean) => void>();
  readonly #timer: NodeJS.Timeout;
  #available = true;
  #closed = false;

  private constructor(
    provider: RedisState,
    release: () => Promise<void>,
    description: string,
    options: RedisBridgeStoreOptions,
  ) {
    this.provider = provider;
    this.description = description;
    this.#release = release;
    this.#maxOpen = options.maxOpenSessions ?? 10_000;
    const store = this;
    this.health = {
      get available() {
        return store.#available;
      },
      onChange(listener) {
        store.#listeners.add(listener);
        return () => store.#listeners.delete(listener);
      },
    };
    let probing = false;
    this.#timer = setInterval(() => {
      if (probing) return;
      probing = true;
      void provider.ping().then((answer) => {
        probing = false;
        this.#setAvailable(answer.ok);
      });
    }, options.healthIntervalMs ?? 1000);
    this.#timer.unref();
  }

  /**
   * Connects (`unavailable` when Redis cannot be reached within `timeoutMs`) and checks the
   * server (Redis 7, no eviction: `unsupported` otherwise). The connection stays open until `close`.
   */
  static async open(options: RedisBridgeStoreOptions): Promise<Result<RedisBridgeStore>> {
    const { healthIntervalMs, maxOpenSessions, ...redis } = options;
    for (const [name, value] of [
      ["healthIntervalMs", healthIntervalMs],
      ["maxOpenSessions", maxOpenSessions],
    ] as const) {
      if (value !== undefined && !(Number.isSafeInteger(value) && value > 0)) {
        throw new TypeError(`RedisBridgeStore: ${name} must be a positive integer, got ${value}`);
      }
    }
    const provider = new RedisState({ name: "RedisBridgeStore", ...redis });
    const held = await provider.acquire();
    if (!held.ok) return held;
    const where =
      options.url ?? (options.rootNodes ? `Cluster ${options.rootNodes.join(",")}` : "Redis");
    return ok(new RedisBridgeStore(provider, held.value, where, options));
  }

  #setAvailable(available: boolean): void {
    if (available === this.#available || this.#closed) return;
    this.#available = available;
    for (const listener of [...this.#listeners]) listener(available);
  }

  /** A failure that says Redis is not answering turns health off at once, not at the next probe. */
  #noted<T>(result: Result<T>): Result<T> {
    if (!result.ok && result.error.code === "unavailable") this.#setAvailable(false);
    return result;
  }

  /** The session, joined once and kept open (bounded); `session_not_found` when it is not there. */
  async #session(sessionId: string): Promise<Result<RedisSession>> {
    let opening = this.#open.get(sessionId);
    if (opening !== undefined) {
      this.#open.delete(sessionId);
      this.#open.set(sessionId, opening);
    } else {
      opening = this.provider.joinSession(sessionId);
      this.#open.set(sessionId, opening);
      void this.#makeRoom();
    }
    const joined = await opening;
    if (!joined.ok && this.#open.get(sessionId) === opening) this.#open.delete(sessionId);
    return this.#noted(joined);
  }

  async #makeRoom(): Promise<void> {
    for (const [sessionId, opening] of this.#open) {
      if (this.#open.size <= this.#maxOpen) return;
      if ((this.#watched.get(sessionId) ?? 0) > 0) continue;
      this.#open.delete(sessionId);
      const joined = await opening;
      if (joined.ok) await this.provider.cleanup(joined.value);
    }
  }

  /** Runs `call` on the open session; a session deleted meanwhile is closed here too. */
  async #on<T>(
    sessionId: string,
    call: (session: RedisSession) => Promise<Result<T>>,
  ): Promise<Result<T>> {
    const session = await this.#session(sessionId);
    if (!session.ok) return session;
    const answer = this.#noted(await call(session.value));
    if (!answer.ok && answer.error.code === "session_not_found") await this.#forget(sessionId);
    return answer;
  }

  async #forget(sessionId: string): Promise<void> {
    const opening = this.#open.get(sessionId);
    this.#open.delete(sessionId);
    const joined = await opening;
    if (joined?.ok) await this.provider.cleanup(joined.value);
  }

  // ---- sessions ----

  async createSession(sessionId: string, metadata: Metadata): Promise<Result<SessionInfo>> {
    const created = this.#noted(await this.provider.createSession(sessionId, { metadata }));
    return created.ok ? ok(infoOf(created.value)) : created;
  }

  async getSession(sessionId: string): Promise<Result<SessionInfo>> {
    const info = this.#noted(await this.provider.sessionInfo(sessionId));
    return info.ok ? ok(infoOf(info.value)) : info;
  }

  async touch(sessionId: string): Promise<Result<undefined>> {
    const info = this.#noted(await this.provider.sessionInfo(sessionId));
    return info.ok ? ok() : info;
  }

  async deleteSession(sessionId: string): Promise<Result<number>> {
    const info = this.#noted(await this.provider.sessionInfo(sessionId));
    if (!info.ok) return info;
    const deleted = this.#noted(await this.provider.deleteSession(sessionId));
    await this.#forget(sessionId);
    if (!deleted.ok) return deleted;
    return ok(info.value.variableCount);
  }

  async listSessions(): Promise<Result<readonly SessionInfo[]>> {
    const listed = this.#noted(await this.provider.listSessions());
    return listed.ok ? ok(listed.value.sessions.map(infoOf)) : listed;
  }

  // ---- variables ----

  register(
    sessionId: string,
    input: RegistrationInput,
    options: KeyedOptions = {},
  ): Promise<Result<{ readonly id: string }>> {
    return this.#on(sessionId, async (session) => {
      const registered = await this.provider.registerVariable(
        session,
        // The server decoded them from the wire as strings; the core checks them again.
        input.name as string,
        input.type as VariableType,
        input.value,
        {
          constraints: input.constraints,
          metadata: input.metadata,
          ...(options.requestId === undefined ? {} : { requestId: options.requestId }),
        } as RegisterOptions,
      );
      return registered.ok ? ok({ id: registered.value.id }) : registered;
    });
  }

  get(sessionId: string, identifier: Identifier): Promise<Result<VariableRecord>> {
    return this.#on(sessionId, (session) => this.provider.getVariableRecord(session, identifier));
  }

  getMany(
    sessionId: string,
    identifiers: readonly Identifier[],
  ): Promise<Result<ReadonlyMap<Identifier, VariableRecord>>> {
    // The session's own batch read: one round trip, records rather than values.
    return this.#on(sessionId, (session) => session.records(identifiers));
  }

  list(sessionId: string): Promise<Result<readonly VariableRecord[]>> {
    return this.#on(sessionId, (session) => this.provider.listVariables(session));
  }

  set(
    sessionId: string,
    identifier: Identifier,
    value: unknown,
    metadata: Metadata,
    options: SetOptions,
  ): Promise<Result<number>> {
    return this.#on(sessionId, async (session) => {
      const written = await this.provider.setVariable(session, identifier, value, metadata, {
        ...(options.expectedVersion === undefined
          ? {}
          : { expectedVersion: options.expectedVersion }),
        ...(options.requestId === undefined ? {} : { requestId: options.requestId }),
      });
      return written.ok ? ok(written.value.version) : written;
    });
  }

  update(
    sessionId: string,
    updates: ReadonlyMap<Identifier, unknown>,
    metadata: Metadata,
    options: UpdateOptions,
  ): Promise<Result<BatchApplied>> {
    return this.#on(sessionId, async (session) => {
      const first = await this.#commitBatch(session, updates, metadata, options, options.requestId);
      if (first.ok || first.error.code !== "partial_failure") {
        return first.ok ? ok({ versions: first.value }) : first;
      }
      const failure = first.error;
      if (options.atomic) return ok({ versions: {}, failure });
      // Not atomic: what passed is applied as one commit of its own, with a key of its own.
      const rest = new Map([...updates].filter(([identifier]) => !(identifier in failure.failed)));
      if (rest.size === 0) return ok({ versions: {}, failure });
      const key = options.requestId === undefined ? undefined : `${options.requestId}/rest`;
      const applied = await this.#commitBatch(session, rest, metadata, options, key);
      if (!applied.ok) return applied;
      return ok({
        versions: applied.value,
        failure: StateErrors.partialFailure(failure.failed, [...rest.keys()]),
      });
    });
  }

  async #commitBatch(
    session: RedisSession,
    updates: ReadonlyMap<Identifier, unknown>,
    metadata: Metadata,
    options: UpdateOptions,
    requestId: string | undefined,
  ): Promise<Result<Readonly<Record<Identifier, number>>>> {
    // Own keys by define: a variable may be named __proto__.
    const values: Record<Identifier, unknown> = {};
    for (const [identifier, value] of updates) define(values, identifier, value);
    const expected: Record<Identifier, number> = {};
    for (const identifier of updates.keys()) {
      const version = own(options.expectedVersions, identifier);
      if (version !== undefined) define(expected, identifier, version);
    }
    const written = await this.provider.updateVariables(session, values, metadata, {
      expectedVersions: expected,
      ...(requestId === undefined ? {} : { requestId }),
    });
    return written.ok ? ok(written.value.versions) : written;
  }

  delete(
    sessionId: string,
    identifier: Identifier,
    options: KeyedOptions = {},
  ): Promise<Result<undefined>> {
    return this.#on(sessionId, async (session) => {
      const deleted = await this.provider.deleteVariable(
        session,
        identifier,
        options.requestId === undefined ? undefined : { requestId: options.requestId },
      );
      return deleted.ok ? ok() : deleted;
    });
  }

  import(sessionId: string, parsed: ParsedExport): Promise<Result<number>> {
    // The document was validated by the server: the session merges it (all or nothing).
    return this.#on(sessionId, async (session) => {
      const imported = await session.import(parsed);
      return imported.ok ? ok(parsed.records.length) : imported;
    });
  }

  history(
    sessionId: string,
    identifier: Identifier,
    limit: number | undefined,
  ): Promise<Result<readonly VariableRecord[]>> {
    return this.#on(sessionId, async (session) => {
      const [current, versions] = await Promise.all([
        this.provider.getVariableRecord(session, identifier),
        this.provider.getVariableHistory(
          session,
          identifier,
          limit === undefined ? undefined : { limit },
        ),
      ]);
      if (!versions.ok) return versions;
      if (!current.ok) return current;
      const record = current.value;
      // Each version as the record it was: the variable's identity and constraints do not change.
      return ok(
        versions.value.map((version) => ({
          ...record,
          value: version.value,
          version: version.version,
          metadata: version.metadata,
          source: version.source,
          updatedAt: version.timestamp,
        })),
      );
    });
  }

  async watch(
    sessionId: string,
    listener: WatchListener,
    options: { readonly after?: string } = {},
  ): Promise<Result<StoreWatch>> {
    const session = await this.#session(sessionId);
    if (!session.ok) return session;
    // Events may come while the subscription is being made (a resumed replay): they wait for begin.
    let waiting: VariableEvent[] | undefined = [];
    const subscriber = (event: VariableEvent) => {
      if (waiting !== undefined) waiting.push(event);
      else listener.change(event);
    };
    this.#watched.set(sessionId, (this.#watched.get(sessionId) ?? 0) + 1);
    const subscribed = this.#noted(
      options.after === undefined
        ? await this.provider
            .subscribe(session.value, "*", subscriber)
            .then((id) => (id.ok ? ok({ subscription: id.value, resumed: false }) : id))
        : await this.provider.resume(session.value, "*", subscriber, options.after),
    );
    if (!subscribed.ok) {
      this.#unwatch(sessionId);
      return subscribed;
    }
    listener.begin(subscribed.value.resumed);
    const heard = waiting;
    waiting = undefined;
    for (const event of heard) listener.change(event);
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      stopEnd();
      this.#unwatch(sessionId);
      void this.provider.unsubscribe(session.value, subscribed.value.subscription);
    };
    // Deleted (through any bridge) or expired: Redis does not say which; both end the watch.
    const stopEnd = this.provider.onSessionEnd(session.value, () => {
      close();
      void this.#forget(sessionId);
      listener.end("deleted");
    });
    return ok({ close });
  }

  #unwatch(sessionId: string): void {
    const left = (this.#watched.get(sessionId) ?? 1) - 1;
    if (left <= 0) this.#watched.delete(sessionId);
    else this.#watched.set(sessionId, left);
  }

  /** Closes this bridge's sessions and connection; the sessions stay in Redis. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    const open = [...this.#open.values()];
    this.#open.clear();
    for (const opening of open) {
      const joined = await opening;
      if (joined.ok) await this.provider.cleanup(joined.value);
    }
    await this.#release();
  }
}

function infoOf(info: RedisSessionInfo): SessionInfo {
  return {
    id: info.id,
    metadata: info.metadata,
    createdAt: info.createdAt,
    // Redis keeps no last-access time; the idle TTL is Redis's own (see RedisStateOptions.ttlMs).
    lastAccessAt: 0,
    variableCount: info.variableCount,
    pinned: false,
  };
}
