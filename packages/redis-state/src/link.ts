import {
  ClientClosedError,
  createClient,
  createCluster,
  ErrorReply,
  type RedisClientType,
  type RedisClusterType,
} from "@redis/client";
import type { Script } from "./scripts.js";

/*
 * One provider's way to Redis, standalone or Cluster: commands routed by their first key,
 * scripts by SHA with a fallback to EVAL (script caches are per node and empty after a restart),
 * and sharded pub/sub for doorbells. The provider owns what it opened and closes it; a client
 * the user passed in stays theirs (only the subscriber connection duplicated from it is ours).
 */

type Client = RedisClientType;
type Cluster = RedisClusterType;
type Listener = (message: string, channel: string) => void;

/** How commands fail: a reply Redis gave (definite), or the connection (ambiguous). */
export type SendFailure =
  | { readonly kind: "reply"; readonly message: string }
  | { readonly kind: "transient"; readonly message: string }
  | { readonly kind: "closed"; readonly message: string };

/** Reply errors that pass once Redis is back, a failover ends or a slot settles. */
const TRANSIENT_REPLY = /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY|NOREPLICAS)\b/;

export function classify(error: unknown): SendFailure {
  const message = error instanceof Error ? error.message : String(error);
  // Closed on purpose (the last cleanup, or the owner of a given client): no retry helps.
  if (error instanceof ClientClosedError) return { kind: "closed", message };
  if (error instanceof ErrorReply && !TRANSIENT_REPLY.test(message)) {
    return { kind: "reply", message };
  }
  return { kind: "transient", message };
}

export interface LinkTarget {
  readonly url?: string | undefined;
  readonly client?: Client | undefined;
  readonly rootNodes?: readonly string[] | undefined;
  readonly cluster?: Cluster | undefined;
}

export class Link {
  readonly #client: Client | undefined;
  readonly #cluster: Cluster | undefined;
  readonly #owned: boolean;
  #subscriber: Client | undefined;
  #subscriberReady: Promise<void> | undefined;
  readonly #onReconnect: () => void;
  /** The last connection error, for messages. */
  lastError = "";

  constructor(target: LinkTarget, connectTimeoutMs: number, onReconnect: () => void) {
    this.#onReconnect = onReconnect;
    const socket = {
      connectTimeout: connectTimeoutMs,
      // Keep trying in the background, never slower than every second.
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 1000),
    };
    const defaults = { disableOfflineQueue: true, maintNotifications: "disabled" as const, socket };
    if (target.cluster !== undefined) {
      this.#cluster = target.cluster;
      this.#owned = false;
    } else if (target.rootNodes !== undefined) {
      this.#cluster = createCluster({
        rootNodes: target.rootNodes.map((url) => ({ url })),
        defaults,
      }) as unknown as Cluster;
      this.#owned = true;
    } else if (target.client !== undefined) {
      this.#client = target.client;
      this.#owned = false;
    } else {
      this.#client = createClient({
        ...(target.url === undefined ? {} : { url: target.url }),
        ...defaults,
      }) as unknown as Client;
      this.#owned = true;
    }
    this.#emitter().on("error", (error: unknown) => {
      this.lastError = error instanceof Error ? error.message : String(error);
    });
  }

  #emitter(): { on(event: string, listener: (...args: unknown[]) => void): unknown } {
    return (this.#cluster ?? this.#client) as unknown as {
      on(event: string, listener: (...args: unknown[]) => void): unknown;
    };
  }

  get isCluster(): boolean {
    return this.#cluster !== undefined;
  }

  /** Connects what we own; a client or cluster the user gave must already be connected. */
  async connect(): Promise<void> {
    const target = (this.#cluster ?? this.#client) as Client;
    if (this.#owned) await target.connect();
    else if (!target.isOpen) {
      throw new Error(
        `the ${this.#cluster === undefined ? "client" : "cluster"} given to RedisState is not connected (call connect() first)`,
      );
    }
  }

  send(firstKey: string, args: string[], readonly: boolean, timeoutMs: number): Promise<unknown> {
    const options = { timeout: Math.max(1, timeoutMs) };
    if (this.#cluster !== undefined)
      return this.#cluster.sendCommand(firstKey, readonly, args, options);
    return (this.#client as Client).sendCommand(args, options);
  }

  /** EVALSHA, loading the script with EVAL where the node does not have it. */
  async run(
    script: Script,
    keys: readonly string[],
    args: readonly string[],
    timeoutMs: number,
  ): Promise<unknown> {
    const readonly = script.source.startsWith("#!lua flags=no-writes");
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await this.send(
        keys[0] as string,
        ["EVALSHA", script.sha, ...tail],
        readonly,
        timeoutMs,
      );
    } catch (error) {
      if (!(error instanceof ErrorReply) || !error.message.startsWith("NOSCRIPT")) throw error;
      return this.send(keys[0] as string, ["EVAL", script.source, ...tail], readonly, timeoutMs);
    }
  }

  /** The client of every master (the one client of a standalone server). */
  async masters(): Promise<Client[]> {
    if (this.#cluster === undefined) return [this.#client as Client];
    const cluster = this.#cluster;
    return Promise.all(
      cluster.masters.map(
        (master) => cluster.nodeClient(master) as Promise<unknown> as Promise<Client>,
      ),
    );
  }

  /** `INFO <section>` of every master (one for a standalone server). */
  async infoOfMasters(section: string, timeoutMs: number): Promise<string[]> {
    const options = { timeout: timeoutMs };
    const out: string[] = [];
    for (const node of await this.masters()) {
      out.push(String(await node.sendCommand(["INFO", section], options)));
    }
    return out;
  }

  /**
   * Keys matching `pattern` (of type `type`) on every master, at most `limit` of them: SCAN
   * pages of `COUNT 1000` until each master is done or the limit is reached. `truncated` when
   * keys were left unread.
   */
  async scanMasters(
    pattern: string,
    type: string,
    limit: number,
    deadline: number,
  ): Promise<{ keys: string[]; truncated: boolean }> {
    const keys: string[] = [];
    for (const node of await this.masters()) {
      let cursor = "0";
      do {
        if (keys.length >= limit) return { keys, truncated: true };
        const [next, page] = (await node.sendCommand(
          ["SCAN", cursor, "MATCH", pattern, "COUNT", "1000", "TYPE", type],
          { timeout: Math.max(1, deadline - Date.now()) },
        )) as [string, string[]];
        cursor = String(next);
        for (const key of page) {
          if (keys.length >= limit) return { keys, truncated: true };
          keys.push(String(key));
        }
      } while (cursor !== "0");
    }
    return { keys, truncated: false };
  }

  async subscribe(channel: string, listener: Listener): Promise<void> {
    if (this.#cluster !== undefined) {
      await this.#cluster.sSubscribe(channel, listener);
      return;
    }
    if (this.#subscriberReady === undefined) {
      const subscriber = (this.#client as Client).duplicate({
        disableOfflineQueue: true,
      }) as unknown as Client;
      subscriber.on("error", (error: unknown) => {
        this.lastError = error instanceof Error ? error.message : String(error);
      });
      // A doorbell rung while the connection was down is lost: catch up after a reconnect.
      let connected = false;
      subscriber.on("ready", () => {
        if (connected) this.#onReconnect();
        connected = true;
      });
      this.#subscriber = subscriber;
      this.#subscriberReady = subscriber.connect().then(() => undefined);
      this.#subscriberReady.catch(() => {});
    }
    await this.#subscriberReady;
    await (this.#subscriber as Client).sSubscribe(channel, listener);
  }

  async unsubscribe(channel: string, listener: Listener): Promise<void> {
    if (this.#cluster !== undefined) await this.#cluster.sUnsubscribe(channel, listener);
    else if (this.#subscriber?.isReady) await this.#subscriber.sUnsubscribe(channel, listener);
  }

  /** Closes what this link opened; pending commands are rejected, not re-sent. */
  async close(): Promise<void> {
    const subscriber = this.#subscriber;
    this.#subscriber = undefined;
    this.#subscriberReady = undefined;
    if (subscriber !== undefined) await closeOrDestroy(subscriber);
    if (this.#owned) await closeOrDestroy((this.#cluster ?? this.#client) as Client);
  }
}

async function closeOrDestroy(target: {
  isReady: boolean;
  isOpen: boolean;
  close(): Promise<void>;
  destroy(): void;
}): Promise<void> {
  if (target.isReady) {
    try {
      await target.close();
      return;
    } catch {
      // Fall through: a connection that broke while closing is destroyed.
    }
  }
  if (target.isOpen) target.destroy();
}
