import {
  type Capabilities,
  checkMetadata,
  describeValue,
  err,
  type Metadata,
  ok,
  type Result,
  StateErrors,
  type Subscriber,
  type SubscriberErrorHandler,
} from "@dspex/state-provider";
import {
  BackendProvider,
  checkSessionId,
  checkStoredMetadata,
  checkSubscription,
  type OpenRequest,
  type StoreLimits,
  storeLimits,
} from "@dspex/state-provider/backend";
import type { RedisClientType, RedisClusterType } from "@redis/client";
import { parseCursor } from "./cursor.js";
import { ChangeFeed } from "./feed.js";
import { type SessionKeys, sessionHashPattern, sessionIdOfHashKey, sessionKeys } from "./keys.js";
import { Link } from "./link.js";
import { RedisSession, type Resumed, type SessionBackend } from "./redis-session.js";
import { runRead, runScript } from "./runner.js";
import { DELETE_SESSION, OPEN } from "./scripts.js";

export interface RedisStateOptions {
  /** `redis://host:port`, `rediss://...` or `unix:///path/to/socket`: a connection the provider opens. */
  readonly url?: string;
  /** An already connected node-redis client; it stays yours (the provider never closes it). */
  readonly client?: RedisClientType;
  /** A Redis Cluster by its root nodes (`redis://host:port` each): connections the provider opens. */
  readonly rootNodes?: readonly string[];
  /** An already connected node-redis Cluster; it stays yours. */
  readonly cluster?: RedisClusterType;
  /** Prefix of every key. Default `dspex:`. */
  readonly keyPrefix?: string;
  /** A session with no read or write for this long is expired by Redis. Default 24 h. */
  readonly ttlMs?: number;
  /** Every call answers within this (`unavailable` when Redis does not). Default 5000. */
  readonly timeoutMs?: number;
  /** Change-feed entries kept per session for watchers that reconnect. Default 10000. */
  readonly feedRetention?: number;
  /** Watchers re-read the feed this often, in case a doorbell was lost. Default 1000. */
  readonly feedPollMs?: number;
  readonly limits?: Partial<StoreLimits>;
  /** Where errors thrown by subscribers go (default `console.error`). */
  readonly onSubscriberError?: SubscriberErrorHandler;
  /** Default `RedisState`. */
  readonly name?: string;
}

/** What `sessionInfo` and `listSessions` answer about a session. */
export interface RedisSessionInfo {
  readonly id: string;
  readonly metadata: Metadata;
  /** Wall-clock epoch ms of its creation; 0 for a session made before RedisState recorded it. */
  readonly createdAt: number;
  readonly variableCount: number;
}

export interface ListSessionsOptions {
  /** At most this many sessions (a positive integer). Default 10 000. */
  readonly limit?: number;
}

export interface SessionList {
  readonly sessions: readonly RedisSessionInfo[];
  /** True when the limit was reached before the scan ended: more sessions may exist. */
  readonly truncated: boolean;
}

export interface PingAnswer {
  /** How many masters answered (1 for a standalone server). */
  readonly masters: number;
  /** Wall-clock ms from the first PING sent to the last answer. */
  readonly roundTripMs: number;
}

/** Lets go of what `acquire` held; idempotent. */
export type Release = () => Promise<void>;

const DEFAULT_LIST_LIMIT = 10_000;
/** Session infos read at once while listing. */
const INFO_BATCH = 500;

type OpenMode = "join" | "create" | "existing";

const CAPABILITIES: Capabilities = Object.freeze({
  atomicUpdates: true,
  compareAndSet: true,
  streaming: true,
  persistence: true,
  distribution: true,
  // What the change feed retains of each variable (history.ts).
  history: true,
});

const MIN_VERSION = [7, 0] as const;

function positive(value: number | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value > 0) || !Number.isFinite(value))
    throw new TypeError(`RedisState: ${option} must be a positive number, got ${String(value)}`);
  return value;
}

/**
 * A `StateProvider` on Redis ≥ 7.0, standalone or Cluster: sessions that survive a crash of any
 * process and are shared by every process that opens them. Each session lives in one hash slot;
 * every write commits in one Lua script; subscribers hear every process's changes in commit order.
 *
 * ```ts
 * const provider = new RedisState({ url: "redis://127.0.0.1:6379" });
 * ```
 */
export class RedisState extends BackendProvider<RedisSession> {
  readonly #target: ConstructorParameters<typeof Link>[0];
  readonly #prefix: string;
  readonly #onSubscriberError: SubscriberErrorHandler | undefined;
  readonly #settings: Omit<SessionBackend, "link" | "feed" | "releaseFeed" | "release">;
  readonly #feedPollMs: number;
  #link: Promise<Result<Link>> | undefined;
  #closing: Promise<void> | undefined;
  #holders = 0;
  readonly #feeds = new Map<string, ChangeFeed>();

  constructor(options: RedisStateOptions) {
    const targets = ["url", "client", "rootNodes", "cluster"].filter(
      (key) => options?.[key as keyof RedisStateOptions] !== undefined,
    );
    if (targets.length !== 1) {
      throw new TypeError(
        `RedisState: give exactly one of url, client, rootNodes or cluster (got ${targets.length === 0 ? "none" : targets.join(", ")})`,
      );
    }
    const name = options.name ?? "RedisState";
    const limits = storeLimits(options.limits, name);
    super({ name, capabilities: CAPABILITIES, requiresBridge: false, limits });
    const timeoutMs = positive(options.timeoutMs, 5000, "timeoutMs");
    const ttlMs = Math.round(positive(options.ttlMs, 24 * 3600 * 1000, "ttlMs"));
    this.#target = {
      url: options.url,
      client: options.client,
      rootNodes: options.rootNodes,
      cluster: options.cluster,
    };
    this.#prefix = options.keyPrefix ?? "dspex:";
    this.#onSubscriberError = options.onSubscriberError;
    this.#feedPollMs = positive(options.feedPollMs, 1000, "feedPollMs");
    this.#settings = {
      name,
      limits,
      ttlMs,
      timeoutMs,
      feedRetention: Math.round(positive(options.feedRetention, 10_000, "feedRetention")),
    };
  }

  protected open(request: OpenRequest): Promise<Result<RedisSession>> {
    // A generated id must be new; a named session is joined or created.
    return this.#open(request, request.named ? "join" : "create");
  }

  async #open(request: OpenRequest, mode: OpenMode): Promise<Result<RedisSession>> {
    const deadline = Date.now() + this.#settings.timeoutMs;
    const linked = await this.#acquire(deadline);
    if (!linked.ok) return linked;
    const link = linked.value;
    const keys = sessionKeys(this.#prefix, request.sessionId);
    const opened = await this.#runOpen(
      link,
      keys,
      request.sessionId,
      request.metadata,
      mode,
      deadline,
    );
    if (!opened.ok) {
      await this.#release();
      return opened;
    }
    const status = opened.value;
    if (status === "exists") {
      await this.#release();
      return err(StateErrors.unavailable(`a generated session id was taken: ${request.sessionId}`));
    }
    if (status === "missing") {
      await this.#release();
      return err(StateErrors.sessionNotFound(request.sessionId));
    }
    const session = new RedisSession(request.sessionId, keys, this.#backend(link));
    if (request.existing !== undefined) {
      const imported = await session.import(request.existing);
      if (!imported.ok) {
        if (status === "created") await this.#deleteWith(link, keys, deadline);
        await this.#release();
        return imported;
      }
    }
    return ok(session);
  }

  #runOpen(
    link: Link,
    keys: SessionKeys,
    sessionId: string,
    metadata: Metadata,
    mode: OpenMode,
    deadline: number,
    createdAt = Date.now(),
  ): Promise<Result<"created" | "joined" | "exists" | "missing">> {
    const epoch = globalThis.crypto.randomUUID();
    return runScript(
      link,
      OPEN,
      [keys.hash, keys.feed, keys.requests],
      [epoch, JSON.stringify(metadata), String(this.#settings.ttlMs), mode, String(createdAt)],
      { deadline, what: `opening session ${JSON.stringify(sessionId)}`, write: true },
    ).then((opened) =>
      opened.ok
        ? ok((opened.value as [string])[0] as "created" | "joined" | "exists" | "missing")
        : opened,
    );
  }

  /**
   * Opens a session that exists, as `init({ sessionId })` does, but never creates one:
   * `session_not_found` when it is not there (deleted, expired, never made). `cleanup` lets it go.
   */
  joinSession(sessionId: string): Promise<Result<RedisSession>> {
    const checked = checkSessionId(sessionId);
    if (!checked.ok) return Promise.resolve(checked);
    return this.#open({ sessionId, named: true, metadata: {}, existing: undefined }, "existing");
  }

  /**
   * Creates a session, in one script: `already_exists` when it is there, so of two processes
   * creating one id at once exactly one succeeds. It holds nothing open: `init` or `joinSession`
   * opens it.
   */
  async createSession(
    sessionId: string,
    options?: { readonly metadata?: Metadata },
  ): Promise<Result<RedisSessionInfo>> {
    const checked = checkSessionId(sessionId);
    if (!checked.ok) return checked;
    if (options !== undefined && (typeof options !== "object" || options === null)) {
      return err(
        StateErrors.invalidArgument(
          `createSession expects an options object, got ${describeValue(options)}`,
        ),
      );
    }
    const metadata = checkMetadata(options?.metadata);
    if (!metadata.ok) return metadata;
    const tooLarge = checkStoredMetadata(metadata.value, this.#settings.limits, "the session");
    if (tooLarge !== undefined) return err(tooLarge);
    return this.#withLink(async (link, deadline) => {
      const keys = sessionKeys(this.#prefix, sessionId);
      const createdAt = Date.now();
      const opened = await this.#runOpen(
        link,
        keys,
        sessionId,
        metadata.value,
        "create",
        deadline,
        createdAt,
      );
      if (!opened.ok) return opened;
      if (opened.value === "exists") {
        return err({
          ...StateErrors.alreadyExists(sessionId),
          message: `session ${JSON.stringify(sessionId)} already exists`,
        });
      }
      return ok({ id: sessionId, metadata: metadata.value, createdAt, variableCount: 0 });
    });
  }

  /** A session's id, metadata, creation time and variable count; `session_not_found` when gone. */
  async sessionInfo(sessionId: string): Promise<Result<RedisSessionInfo>> {
    const checked = checkSessionId(sessionId);
    if (!checked.ok) return checked;
    return this.#withLink(async (link, deadline) => {
      const info = await this.#readInfo(link, sessionId, deadline);
      if (!info.ok) return info;
      return info.value === undefined
        ? err(StateErrors.sessionNotFound(sessionId))
        : ok(info.value);
    });
  }

  async #readInfo(
    link: Link,
    sessionId: string,
    deadline: number,
  ): Promise<Result<RedisSessionInfo | undefined>> {
    const hash = sessionKeys(this.#prefix, sessionId).hash;
    const read = await runRead(
      link,
      hash,
      ["HMGET", hash, "epoch", "metadata", "createdAt", "count"],
      { deadline, what: `sessionInfo of ${JSON.stringify(sessionId)}`, write: false },
    );
    if (!read.ok) return read;
    const [epoch, metadata, createdAt, count] = read.value as (string | null)[];
    if (epoch === null || epoch === undefined) return ok(undefined);
    return ok({
      id: sessionId,
      metadata: Object.freeze(JSON.parse(metadata ?? "{}") as Metadata),
      createdAt: Number(createdAt ?? 0),
      variableCount: Number(count ?? 0),
    });
  }

  /**
   * The sessions under this provider's key prefix, from a SCAN of every master (of a Cluster
   * too), at most `limit` (default 10 000): never an unbounded reply. Reads do not refresh
   * idle timers. Sessions appear in no particular order.
   */
  async listSessions(options?: ListSessionsOptions): Promise<Result<SessionList>> {
    const limit = options?.limit ?? DEFAULT_LIST_LIMIT;
    if (!Number.isSafeInteger(limit) || limit <= 0) {
      return err(
        StateErrors.invalidArgument(
          `listSessions expects limit as a positive integer, got ${describeValue(limit)}`,
        ),
      );
    }
    return this.#withLink(async (link, deadline) => {
      let scanned: { keys: string[]; truncated: boolean };
      try {
        scanned = await link.scanMasters(sessionHashPattern(this.#prefix), "hash", limit, deadline);
      } catch (error) {
        return err(
          StateErrors.unavailable(`Redis did not answer listSessions: ${(error as Error).message}`),
        );
      }
      const ids = scanned.keys
        .map((key) => sessionIdOfHashKey(this.#prefix, key))
        .filter((id): id is string => id !== undefined);
      const sessions: RedisSessionInfo[] = [];
      for (let at = 0; at < ids.length; at += INFO_BATCH) {
        const infos = await Promise.all(
          ids.slice(at, at + INFO_BATCH).map((id) => this.#readInfo(link, id, deadline)),
        );
        for (const info of infos) {
          if (!info.ok) return info;
          // Expired or deleted between the scan and the read.
          if (info.value !== undefined) sessions.push(info.value);
        }
      }
      return ok({ sessions, truncated: scanned.truncated });
    });
  }

  /**
   * One round trip to every master: `unavailable` when any does not answer within `timeoutMs`
   * (a health check). Opens the connection for the call when nothing holds it.
   */
  ping(): Promise<Result<PingAnswer>> {
    return this.#withLink(async (link, deadline) => {
      const started = Date.now();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<"late">((resolve) => {
        timer = setTimeout(() => resolve("late"), Math.max(0, deadline - Date.now()));
      });
      const pinged = (async () => {
        const masters = await link.masters();
        await Promise.all(
          masters.map((node) =>
            node.sendCommand(["PING"], { timeout: Math.max(1, deadline - Date.now()) }),
          ),
        );
        return masters.length;
      })().catch((error: unknown) => error as Error);
      const outcome = await Promise.race([pinged, late]);
      clearTimeout(timer);
      if (typeof outcome === "number") {
        return ok({ masters: outcome, roundTripMs: Date.now() - started });
      }
      const detail = outcome === "late" ? link.lastError || "no answer" : outcome.message;
      return err(
        StateErrors.unavailable(
          `Redis at ${this.#describeTarget()} did not answer PING in time: ${detail}`,
        ),
      );
    });
  }

  /**
   * Calls `listener` once when the session is found gone (deleted or expired, by this process or
   * any other), while `state` has a subscription (its change feed is what notices: at the
   * deletion's doorbell, or the next poll). Answers the way to stop listening.
   */
  onSessionEnd(state: RedisSession, listener: () => void): () => void {
    return state.onEnd(listener);
  }

  /**
   * `subscribe`, resuming after `after`, a `cursor` of an event heard earlier (by this process
   * or any other). When the cursor is of the session's current epoch and its change is still
   * retained in the feed (the last `feedRetention` entries), the subscriber first hears exactly
   * the changes committed after it, in commit order, then the live ones, with no gap and no
   * duplicate: `resumed: true`. Otherwise `resumed: false` and it is a plain subscription from
   * now (catch up from a snapshot). A malformed cursor is `invalid_argument`.
   */
  async resume(
    state: RedisSession,
    pattern: string,
    subscriber: Subscriber,
    after: string,
  ): Promise<Result<Resumed>> {
    if (state.closed) return err(StateErrors.closed(this.name));
    const checked = checkSubscription(pattern, subscriber);
    if (!checked.ok) return checked;
    const cursor = parseCursor(after);
    if (!cursor.ok) return cursor;
    return state.subscribeAfter(pattern, subscriber, cursor.value);
  }

  /**
   * Holds the provider's connections open without an open session (a bridge serving many
   * sessions over days): they are opened now (`unavailable` when Redis cannot be reached within
   * `timeoutMs`) and stay open until the answered `release` is called and no session is open.
   */
  async acquire(): Promise<Result<Release>> {
    const linked = await this.#acquire(Date.now() + this.#settings.timeoutMs);
    if (!linked.ok) return linked;
    let released = false;
    return ok(async () => {
      if (released) return;
      released = true;
      await this.#release();
    });
  }

  /** Runs `call` on the shared connection, held for the call only. */
  async #withLink<T>(
    call: (link: Link, deadline: number) => Promise<Result<T>>,
  ): Promise<Result<T>> {
    const deadline = Date.now() + this.#settings.timeoutMs;
    const linked = await this.#acquire(deadline);
    if (!linked.ok) return linked;
    try {
      return await call(linked.value, deadline);
    } finally {
      await this.#release();
    }
  }

  /**
   * Deletes a session and everything in it; its watchers stop hearing it. `cleanup` only lets a
   * session go (it lives on until its idle TTL); this is the explicit end. `true` when it existed.
   */
  async deleteSession(sessionId: string): Promise<Result<boolean>> {
    const checked = checkSessionId(sessionId);
    if (!checked.ok) return checked;
    return this.#withLink((link, deadline) =>
      this.#deleteWith(link, sessionKeys(this.#prefix, sessionId), deadline),
    );
  }

  async #deleteWith(link: Link, keys: SessionKeys, deadline: number): Promise<Result<boolean>> {
    const deleted = await runScript(
      link,
      DELETE_SESSION,
      [keys.hash, keys.feed, keys.bell, keys.requests],
      [],
      {
        deadline,
        what: "deleteSession",
        write: true,
      },
    );
    return deleted.ok ? ok(deleted.value === 1) : deleted;
  }

  #backend(link: Link): SessionBackend {
    return {
      ...this.#settings,
      link,
      feed: (sessionId, keys) => {
        let feed = this.#feeds.get(sessionId);
        if (feed === undefined) {
          feed = new ChangeFeed(link, keys, {
            timeoutMs: this.#settings.timeoutMs,
            pollMs: this.#feedPollMs,
            ...(this.#onSubscriberError === undefined
              ? {}
              : { onSubscriberError: this.#onSubscriberError }),
          });
          this.#feeds.set(sessionId, feed);
        }
        return feed;
      },
      releaseFeed: async (sessionId) => {
        const feed = this.#feeds.get(sessionId);
        if (feed === undefined || feed.subscribers.size > 0 || feed.joining > 0) return;
        this.#feeds.delete(sessionId);
        await feed.stop();
      },
      release: () => this.#release(),
    };
  }

  /** The shared connection, opened by the first holder (an open session, a call). */
  async #acquire(deadline: number): Promise<Result<Link>> {
    while (this.#closing !== undefined) await this.#closing;
    this.#holders++;
    this.#link ??= this.#connect(deadline);
    const linked = await this.#link;
    if (!linked.ok) {
      this.#holders--;
      if (this.#holders === 0) this.#link = undefined;
    }
    return linked;
  }

  /** The last holder closes the connections, so the process can exit. */
  async #release(): Promise<void> {
    this.#holders--;
    if (this.#holders > 0 || this.#link === undefined) return;
    const linked = this.#link;
    this.#link = undefined;
    this.#closing = linked.then((l) => (l.ok ? l.value.close() : undefined)).catch(() => {});
    await this.#closing;
    this.#closing = undefined;
  }

  async #connect(deadline: number): Promise<Result<Link>> {
    const link = new Link(this.#target, Math.max(1, deadline - Date.now()), () => {
      for (const feed of this.#feeds.values()) void feed.catchUp();
    });
    const where = this.#describeTarget();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), Math.max(0, deadline - Date.now()));
    });
    const connecting = link.connect().then(
      () => "connected" as const,
      (error: unknown) => error as Error,
    );
    const outcome = await Promise.race([connecting, timedOut]);
    clearTimeout(timer);
    if (outcome !== "connected") {
      await link.close();
      const detail = outcome === "timeout" ? link.lastError || "no answer" : outcome.message;
      return err(
        StateErrors.unavailable(
          `${this.name} could not reach Redis at ${where} in time: ${detail}`,
        ),
      );
    }
    const checked = await this.#checkServer(link, deadline);
    if (!checked.ok) {
      await link.close();
      return checked;
    }
    return ok(link);
  }

  /** Redis ≥ 7.0, and no eviction policy that could drop one key of a session. */
  async #checkServer(link: Link, deadline: number): Promise<Result<undefined>> {
    let infos: string[];
    try {
      infos = await link.infoOfMasters("server", Math.max(1, deadline - Date.now()));
      infos = infos.concat(await link.infoOfMasters("memory", Math.max(1, deadline - Date.now())));
    } catch (error) {
      return err(
        StateErrors.unavailable(
          `${this.name} could not read INFO from Redis: ${(error as Error).message}`,
        ),
      );
    }
    for (const info of infos) {
      const version = /^redis_version:(\d+)\.(\d+)/m.exec(info);
      if (version !== null) {
        const [major, minor] = [Number(version[1]), Number(version[2])];
        if (major < MIN_VERSION[0] || (major === MIN_VERSION[0] && minor < MIN_VERSION[1])) {
          return err(
            StateErrors.unsupported(
              `Redis ${major}.${minor} (it needs Redis 7.0 or later)`,
              this.name,
            ),
          );
        }
      }
      const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
      if (policy !== undefined && policy !== "noeviction") {
        return err(
          StateErrors.unsupported(
            `maxmemory-policy ${policy}: it may evict one key of a session and corrupt it; set maxmemory-policy noeviction`,
            this.name,
          ),
        );
      }
    }
    return ok();
  }

  #describeTarget(): string {
    const t = this.#target;
    if (t.url !== undefined) return t.url;
    if (t.rootNodes !== undefined) return `the Cluster at ${t.rootNodes.join(", ")}`;
    return t.cluster !== undefined ? "the given Cluster" : "the given client";
  }
}
