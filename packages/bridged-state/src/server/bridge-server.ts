import { createHash, timingSafeEqual } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";
import { HealthImplementation } from "grpc-health-check";
import { MAX_TIMER_MS, numberOption } from "../options.js";
import type { BridgeStore } from "../store/bridge-store.js";
import { MemoryBridgeStore } from "../store/memory-bridge-store.js";
import { SessionStore, type SessionStoreOptions } from "../store/session-store.js";
import { loadBridgeProto, SERVICE_NAME } from "../wire/proto.js";
import { STATUS_OF_CODE } from "../wire/status.js";
import { withPreEncodedResponses } from "./encoded-responses.js";
import { bridgeHandlers, guarded } from "./handlers.js";
import { Inspector } from "./inspector.js";
import { type RequestLimits, requestLimits, withCheckedRequests } from "./request-guard.js";
import { warmUp } from "./warm-up.js";

export interface TlsOptions {
  /** PEM certificate chain. */
  readonly cert: string | Buffer;
  /** PEM private key. */
  readonly key: string | Buffer;
}

/** The limits (`maxSessionIdBytes`, `maxWatchersPerSession`, ...) are those of `RequestLimits`. */
export interface BridgeServerOptions extends Partial<RequestLimits> {
  /**
   * The sessions to serve: a `SessionStore` (in memory; several servers may share one), or any
   * `BridgeStore` (`RedisBridgeStore` from `@dspex/bridged-state/redis`: many bridges, one
   * Redis). Default: a new `SessionStore` with `storeOptions`, closed with the server.
   */
  readonly store?: SessionStore | BridgeStore;
  readonly storeOptions?: SessionStoreOptions;
  /** Default `127.0.0.1`: only this machine. Bind wider only with a token and TLS. */
  readonly host?: string;
  /** Default 0: an ephemeral port (read it from `port` / `address`). */
  readonly port?: number;
  /** When set, every call must carry `authorization: Bearer <token>`. */
  readonly token?: string;
  readonly tls?: TlsOptions;
  /** Largest message received or sent, in bytes. Default 16 MiB. */
  readonly maxMessageBytes?: number;
  /** Interval of `heartbeat` messages on watch streams. Default 30 000 ms. */
  readonly heartbeatMs?: number;
  /** How long `close()` lets calls drain before it forces the server down. Default 5 000 ms. */
  readonly shutdownTimeoutMs?: number;
  /** Where the server logs a line when a session is initialized or cleaned up. Default: nowhere. */
  readonly log?: (line: string) => void;
  /**
   * Also serve the read-only inspector page over HTTP (`inspector.url`): sessions, variables
   * live, a chart per numeric variable. Binds 127.0.0.1 unless `host` says otherwise; behind the
   * same `token`.
   */
  readonly inspect?: { readonly port?: number; readonly host?: string };
  /**
   * Before `start` resolves, make this many calls through the server itself (loopback, on a
   * throwaway session), so the first clients do not pay for code V8 has not optimized yet.
   * Default 0. Plaintext only (a TLS server skips it, since its certificate need not name
   * 127.0.0.1).
   */
  readonly warmUp?: number;
}

export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
export const DEFAULT_HEARTBEAT_MS = 30_000;
/**
 * Ping policy of every bridge server: keepalive pings are welcome without calls in flight and
 * as often as this. The gRPC default (5 min, none without calls) answers a client pinging every
 * 10 s with GOAWAY `too_many_pings`.
 */
export const MIN_PING_INTERVAL_MS = 250;
const SERVER = "BridgeServer";

interface GuardState {
  shuttingDown: boolean;
  /**
   * Ends each open streaming call (health Watch, reflection, ...) with UNAVAILABLE: shutdown
   * uses it so those streams do not hold the drain until the force timeout.
   */
  readonly streams?: Set<() => void>;
}

const SHUTTING_DOWN = {
  code: STATUS_OF_CODE.unavailable,
  details: "dspex-bridge is shutting down",
};

const STORE_UNREACHABLE = {
  code: STATUS_OF_CODE.unavailable,
  details: "dspex-bridge cannot reach its store",
};

/** Token checks compare digests in constant time, so timing tells nothing about the token. */
function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

function sameDigest(given: grpc.MetadataValue | undefined, expected: Buffer): boolean {
  return typeof given === "string" && timingSafeEqual(digest(given), expected);
}

/**
 * The grpc-js server every bridge runs on: message size limits, and an interceptor that answers
 * UNAVAILABLE while shutting down and UNAUTHENTICATED without the right token, for every service
 * on it (bridge, health, reflection). The benchmark builds its echo server with this too.
 */
export function createGrpcServer(
  options: { token?: string | undefined; maxMessageBytes?: number | undefined },
  guard: GuardState,
): grpc.Server {
  const maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const expected = options.token === undefined ? undefined : digest(`Bearer ${options.token}`);
  const interceptor: grpc.ServerInterceptor = (method, call) => {
    const streaming =
      guard.streams !== undefined && (method.responseStream || method.requestStream);
    let end: (() => void) | undefined;
    const listener = new grpc.ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        if (guard.shuttingDown) {
          call.sendStatus(SHUTTING_DOWN);
        } else if (
          expected !== undefined &&
          !sameDigest(metadata.get("authorization")[0], expected)
        ) {
          const given = metadata.get("authorization").length > 0;
          call.sendStatus({
            code: STATUS_OF_CODE.unauthenticated,
            details: given
              ? "dspex-bridge: wrong bearer token in authorization metadata"
              : "dspex-bridge: missing authorization metadata (Bearer token required)",
          });
        } else {
          if (streaming) {
            end = () => intercepting.sendStatus(SHUTTING_DOWN);
            guard.streams?.add(end);
          }
          next(metadata);
        }
      })
      .withOnCancel(() => {
        if (end !== undefined) guard.streams?.delete(end);
      })
      .build();
    const responder = new grpc.ResponderBuilder().withStart((next) => next(listener));
    // Unary calls (the hot path) skip the bookkeeping: they drain by themselves.
    if (streaming) {
      responder.withSendStatus((status, next) => {
        if (end !== undefined) guard.streams?.delete(end);
        next(status);
      });
    }
    const intercepting = new grpc.ServerInterceptingCall(call, responder.build());
    return intercepting;
  };
  return new grpc.Server({
    "grpc.max_receive_message_length": maxBytes,
    "grpc.max_send_message_length": maxBytes,
    // grpc-js 1.14 leaves ping handling to Node's http2 (it acks every ping), so this states the
    // policy for the day it enforces one, as gRPC core and grpc-go servers do.
    "grpc.keepalive_permit_without_calls": 1,
    "grpc.http2.min_ping_interval_without_data_ms": MIN_PING_INTERVAL_MS,
    interceptors: [interceptor],
  });
}

export function serverCredentials(tls: TlsOptions | undefined): grpc.ServerCredentials {
  if (tls === undefined) return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(
    null,
    [{ cert_chain: Buffer.from(tls.cert), private_key: Buffer.from(tls.key) }],
    false,
  );
}

/** Binds `server` and answers the bound port. */
export function bind(
  server: grpc.Server,
  host: string,
  port: number,
  credentials: grpc.ServerCredentials,
): Promise<number> {
  const target =
    host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) => {
    server.bindAsync(target, credentials, (error, bound) =>
      error ? reject(error) : resolve(bound),
    );
  });
}

/**
 * The gRPC BridgeService over a `BridgeStore` (bridge-protocol.md), with health checking and
 * server reflection on the same port. Start it with `BridgeServer.start(options)`.
 */
export class BridgeServer {
  /** What this server serves sessions from (in memory, or shared with other bridges). */
  readonly backing: BridgeStore;
  readonly #sessions: SessionStore | undefined;
  /** The per-request and per-connection limits in force. */
  readonly limits: RequestLimits;
  readonly host: string;
  readonly port: number;
  readonly #server: grpc.Server;
  readonly #guard: GuardState;
  readonly #health: HealthImplementation;
  readonly #ownsStore: boolean;
  readonly #shutdownTimeoutMs: number;
  /** The `end` of every open watch stream (the handlers add and remove them). */
  readonly #watchers: Set<(status?: Partial<grpc.StatusObject>) => void>;
  /** The inspector page, when `inspect` was given. */
  readonly inspector: Inspector | undefined;
  readonly #stopHealth: () => void;
  #closing: Promise<void> | undefined;

  private constructor(parts: {
    backing: BridgeStore;
    sessions: SessionStore | undefined;
    stopHealth: () => void;
    ownsStore: boolean;
    host: string;
    port: number;
    server: grpc.Server;
    guard: GuardState;
    health: HealthImplementation;
    shutdownTimeoutMs: number;
    watchers: Set<(status?: Partial<grpc.StatusObject>) => void>;
    limits: RequestLimits;
    inspector: Inspector | undefined;
  }) {
    this.inspector = parts.inspector;
    this.#watchers = parts.watchers;
    this.limits = parts.limits;
    this.backing = parts.backing;
    this.#sessions = parts.sessions;
    this.#stopHealth = parts.stopHealth;
    this.#ownsStore = parts.ownsStore;
    this.host = parts.host;
    this.port = parts.port;
    this.#server = parts.server;
    this.#guard = parts.guard;
    this.#health = parts.health;
    this.#shutdownTimeoutMs = parts.shutdownTimeoutMs;
  }

  /** Starts a server; resolves once it accepts connections. */
  static async start(options: BridgeServerOptions = {}): Promise<BridgeServer> {
    // A bad option throws (a 0 heartbeat would flood every watch stream).
    const heartbeatMs = numberOption(
      SERVER,
      "heartbeatMs",
      options.heartbeatMs,
      DEFAULT_HEARTBEAT_MS,
      {
        max: MAX_TIMER_MS,
      },
    );
    numberOption(SERVER, "maxMessageBytes", options.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES);
    const shutdownTimeoutMs = numberOption(
      SERVER,
      "shutdownTimeoutMs",
      options.shutdownTimeoutMs,
      5_000,
      {
        allowZero: true,
        max: MAX_TIMER_MS,
      },
    );
    const limits = requestLimits(SERVER, options);
    const warmUpCalls = numberOption(SERVER, "warmUp", options.warmUp, 0, {
      allowZero: true,
      max: 100_000,
    });
    const ownsStore = options.store === undefined;
    const sessions =
      options.store === undefined
        ? new SessionStore(options.storeOptions)
        : options.store instanceof SessionStore
          ? options.store
          : undefined;
    const store =
      sessions === undefined ? (options.store as BridgeStore) : MemoryBridgeStore.of(sessions);
    const host = options.host ?? "127.0.0.1";
    const guard: GuardState = { shuttingDown: false, streams: new Set() };
    const server = createGrpcServer(options, guard);
    const { definition, grpcObject } = loadBridgeProto();
    const watchers = new Set<(status?: Partial<grpc.StatusObject>) => void>();
    const handlers = bridgeHandlers(store, {
      heartbeatMs,
      watchers,
      log: options.log,
      limits,
      watchersBySession: new Map(),
      streamsByConnection: new Map(),
    });
    server.addService(
      withCheckedRequests(
        withPreEncodedResponses(grpcObject.snakepit.bridge.BridgeService.service),
        definition,
        "snakepit.bridge",
        limits,
      ),
      guarded(handlers, limits),
    );
    const health = new HealthImplementation({});
    // NOT_SERVING while the store is unreachable; its watch streams end UNAVAILABLE, so their
    // clients move to a bridge that still reaches it.
    const showHealth = (available: boolean) => {
      if (guard.shuttingDown) return;
      const status = available ? "SERVING" : "NOT_SERVING";
      health.setStatus("", status);
      health.setStatus(SERVICE_NAME, status);
      if (!available) for (const end of [...watchers]) end(STORE_UNREACHABLE);
    };
    showHealth(store.health.available);
    const stopHealth = store.health.onChange(showHealth);
    health.addToServer(server);
    new ReflectionService(definition).addToServer(server);
    let port: number;
    let inspector: Inspector | undefined;
    try {
      port = await bind(server, host, options.port ?? 0, serverCredentials(options.tls));
      if (warmUpCalls > 0 && options.tls === undefined) {
        const loopback =
          host === "0.0.0.0" || host === "::" || host === "[::]" ? "127.0.0.1" : host;
        const target =
          loopback.includes(":") && !loopback.startsWith("[") ? `[${loopback}]` : loopback;
        await warmUp(`${target}:${port}`, warmUpCalls, options.token).catch((error: unknown) => {
          options.log?.(`warm-up failed (serving anyway): ${(error as Error).message}`);
        });
      }
      if (options.inspect !== undefined) {
        inspector = await Inspector.start({
          store,
          ...options.inspect,
          ...(options.token === undefined ? {} : { token: options.token }),
        }).catch((error: unknown) => {
          server.forceShutdown();
          throw error;
        });
      }
    } catch (error) {
      stopHealth();
      if (ownsStore) sessions?.close();
      throw error;
    }
    return new BridgeServer({
      backing: store,
      sessions,
      stopHealth,
      ownsStore,
      host,
      port,
      server,
      guard,
      health,
      shutdownTimeoutMs,
      watchers,
      limits,
      inspector,
    });
  }

  /** `host:port` as a client dials it. */
  get address(): string {
    return this.host.includes(":") ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`;
  }

  get closing(): boolean {
    return this.#guard.shuttingDown;
  }

  /**
   * Graceful shutdown: new calls answer UNAVAILABLE, health turns NOT_SERVING, watch streams end,
   * running calls drain; after `shutdownTimeoutMs` the rest is cut. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.#guard.shuttingDown = true;
    this.#health.setStatus("", "NOT_SERVING");
    this.#health.setStatus(SERVICE_NAME, "NOT_SERVING");
    // UNAVAILABLE, not OK: a watcher must be able to tell a shutdown from its session ending.
    for (const end of [...this.#watchers]) end(SHUTTING_DOWN);
    await this.inspector?.close();
    // Other streams (health Watch after its NOT_SERVING, reflection) end the same way.
    for (const end of [...(this.#guard.streams ?? [])]) end();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.#server.forceShutdown();
        resolve();
      }, this.#shutdownTimeoutMs);
      this.#server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
    this.#stopHealth();
    if (this.#ownsStore) this.#sessions?.close();
  }

  /**
   * The in-memory `SessionStore` this server serves (the one it made, or the one it was given).
   * A server on another `BridgeStore` has none: use `backing`.
   */
  get store(): SessionStore {
    if (this.#sessions === undefined) {
      throw new TypeError(
        `BridgeServer.store is the in-memory SessionStore; this server serves ${this.backing.description} (see backing)`,
      );
    }
    return this.#sessions;
  }
}
