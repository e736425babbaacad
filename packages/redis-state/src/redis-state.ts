import {
  type Capabilities,
  err,
  ok,
  type Result,
  StateErrors,
  type SubscriberErrorHandler,
} from "@dspex/state-provider";
import {
  BackendProvider,
  checkSessionId,
  type OpenRequest,
  type StoreLimits,
  storeLimits,
} from "@dspex/state-provider/backend";
import type { RedisClientType, RedisClusterType } from "@redis/client";
import { ChangeFeed } from "./feed.js";
import { type SessionKeys, sessionKeys } from "./keys.js";
import { Link } from "./link.js";
import { RedisSession, type SessionBackend } from "./redis-session.js";
import { runScript } from "./runner.js";
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

  protected async open(request: OpenRequest): Promise<Result<RedisSession>> {
    const deadline = Date.now() + this.#settings.timeoutMs;
    const linked = await this.#acquire(deadline);
    if (!linked.ok) return linked;
    const link = linked.value;
    const keys = sessionKeys(this.#prefix, request.sessionId);
    const epoch = globalThis.crypto.randomUUID();
    const opened = await runScript(
      link,
      OPEN,
      [keys.hash, keys.feed],
      [
        epoch,
        JSON.stringify(request.metadata),
        String(this.#settings.ttlMs),
        request.named ? "1" : "0",
      ],
      { deadline, what: `init of session ${JSON.stringify(request.sessionId)}`, write: true },
    );
    if (!opened.ok) {
      await this.#release();
      return opened;
    }
    const [status] = opened.value as [string, string];
    if (status === "exists") {
      await this.#release();
      return err(StateErrors.unavailable(`a generated session id was taken: ${request.sessionId}`));
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

  /**
   * Deletes a session and everything in it; its watchers stop hearing it. `cleanup` only lets a
   * session go (it lives on until its idle TTL); this is the explicit end. `true` when it existed.
   */
  async deleteSession(sessionId: string): Promise<Result<boolean>> {
    const checked = checkSessionId(sessionId);
    if (!checked.ok) return checked;
    const deadline = Date.now() + this.#settings.timeoutMs;
    const linked = await this.#acquire(deadline);
    if (!linked.ok) return linked;
    try {
      return await this.#deleteWith(linked.value, sessionKeys(this.#prefix, sessionId), deadline);
    } finally {
      await this.#release();
    }
  }

  async #deleteWith(link: Link, keys: SessionKeys, deadline: number): Promise<Result<boolean>> {
    const deleted = await runScript(link, DELETE_SESSION, [keys.hash, keys.feed, keys.bell], [], {
      deadline,
      what: "deleteSession",
      write: true,
    });
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
