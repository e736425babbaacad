import { readFileSync } from "node:fs";
import { isIPv4, isIPv6 } from "node:net";
import { parseArgs } from "node:util";
import { MAX_TIMER_MS } from "../options.js";
import type { RedisBridgeStoreOptions } from "../store/redis-bridge-store.js";
import type { BridgeServer, BridgeServerOptions } from "./bridge-server.js";

/*
 * SIGINT/SIGTERM handlers go in first thing, before the server code (gRPC) is even loaded:
 * without them a signal during startup kills the process with the default action instead of a
 * clean exit. A signal before the server is up is remembered and acted on once it is.
 */
let stopSignal: NodeJS.Signals | undefined;
let onStop: ((signal: NodeJS.Signals) => void) | undefined;
const requestStop = (signal: NodeJS.Signals) => {
  stopSignal ??= signal;
  onStop?.(signal);
};
process.once("SIGINT", requestStop);
process.once("SIGTERM", requestStop);

const USAGE = `Usage: dspex-bridge serve [options]

Starts a DSPex bridge: the gRPC BridgeService that Python workers (and remote Node processes)
use to share session variables. Prints "dspex-bridge listening on HOST:PORT" once it accepts
connections; logs go to stderr; SIGINT/SIGTERM shut it down gracefully.

Options:
  --host H              address to bind (default 127.0.0.1). Any other than loopback needs
                        --token (or --allow-unauthenticated); without TLS it warns
  --allow-unauthenticated  serve a non-loopback --host without a token: anyone who reaches
                        it can read and change every session
  --port P              port (default 0: an ephemeral port, printed on the listening line)
  --token T             require "authorization: Bearer T" on every call
                        (or set DSPEX_BRIDGE_TOKEN, which keeps it out of the process list)
  --store URL           keep the sessions in Redis (redis://HOST:PORT, rediss://..., or
                        unix:///path/to/socket) instead of this process's memory: every
                        bridge started on the same Redis serves the same sessions
  --store-cluster URLS  the same on a Redis Cluster, by its root nodes (comma-separated
                        redis://HOST:PORT)
  --feed-retention N    with --store: changes kept per session for watchers that resume and
                        for history (default 10000)
  --store-timeout-ms N  with --store: how long a call waits for Redis before it answers
                        UNAVAILABLE, and how long startup waits for it (default 5000)
  --session-ttl S       idle seconds before a session expires (default 3600; 0 = never;
                        with --store, default 86400 and 0 is refused: Redis expires idle keys)
  --max-sessions N      most sessions at once (default 10000; not with --store)
  --max-variables N     most variables per session (default 10000)
  --max-value-bytes N   largest value, as UTF-8 JSON bytes (default 8388608)
  --max-versions N      versions of each variable kept as its history (default 100; with
                        --store, history is what the change feed retains)
  --max-message-bytes N largest gRPC message (default 16777216)
  --max-session-id-bytes N        longest session id in UTF-8 bytes (default 1024)
  --max-identifier-bytes N        longest variable name or id in a request (default 1024)
  --max-identifiers-per-request N most identifiers in one batch or watch (default 10000)
  --max-pattern-bytes N           longest glob pattern (default 1024)
  --max-watchers-per-session N    most open watch streams per session (default 128)
  --max-streams-per-connection N  most open watch streams per client connection (default 128)
  --max-watch-buffer-bytes N      unsent bytes per watch stream before changes are conflated
                                  (default 1048576)
  --heartbeat-ms N      watch stream heartbeat interval (default 30000)
  --warm-up N           before printing the listening line, make N calls through the server
                        itself on a throwaway session, so the first clients get warm speed
                        (default 0; about 1 ms each on a cold server; plaintext only)
  --shutdown-timeout-ms N  how long shutdown lets calls drain (default 5000)
  --tls-cert F --tls-key F  serve TLS with this PEM certificate chain and key
  --inspect P           also serve the read-only inspector page on HTTP port P (0: ephemeral);
                        prints "dspex-bridge inspector on URL" as a second line
  --inspect-host H      address of the inspector (default 127.0.0.1; any other than loopback
                        needs --token, or --allow-unauthenticated)
  -h, --help            show this help
`;

class UsageError extends Error {}

/** 127.0.0.0/8, ::1 (also IPv4-mapped) and localhost: only this machine can connect. */
function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (bare.toLowerCase() === "localhost") return true;
  const v4 = bare.toLowerCase().startsWith("::ffff:") ? bare.slice(7) : bare;
  if (isIPv4(v4)) return v4.startsWith("127.");
  return isIPv6(bare) && new URL(`http://[${bare}]`).hostname === "[::1]";
}

function count(
  flag: string,
  text: string | undefined,
  allowZero = false,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0 || (n === 0 && !allowZero) || n > max) {
    throw new UsageError(
      `--${flag} must be a ${allowZero ? "non-negative" : "positive"} integer${max === Number.MAX_SAFE_INTEGER ? "" : ` up to ${max}`}, got ${JSON.stringify(text)}`,
    );
  }
  return n;
}

/** Server options, plus the Redis store to open first when `--store` was given. */
type ServeArgs = BridgeServerOptions & { readonly redis?: RedisBridgeStoreOptions };

/** Parses the command line into server options (throws UsageError for a bad one). */
function parseServeArgs(args: readonly string[]): ServeArgs | "help" {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return "help";
  if (positionals.length === 0) throw new UsageError("missing command (expected: serve)");
  if (positionals[0] !== "serve" || positionals.length > 1) {
    throw new UsageError(
      `unknown command ${JSON.stringify(positionals.join(" "))} (expected: serve)`,
    );
  }
  const port = count("port", values.port, true);
  if (port !== undefined && port > 65535)
    throw new UsageError(`--port must be at most 65535, got ${port}`);
  if ((values["tls-cert"] === undefined) !== (values["tls-key"] === undefined)) {
    throw new UsageError("--tls-cert and --tls-key go together");
  }
  if (values.host === "") throw new UsageError("--host must not be empty");
  const ttlSeconds = count("session-ttl", values["session-ttl"], true);
  const token = values.token ?? process.env.DSPEX_BRIDGE_TOKEN;
  if (token === "") throw new UsageError("--token must not be empty");
  const host = values.host ?? "127.0.0.1";
  if (!isLoopbackHost(host) && token === undefined && !values["allow-unauthenticated"]) {
    throw new UsageError(
      `--host ${host} is not a loopback address and no token is set: anyone who can reach it could read and change every session. Pass --token T (or set DSPEX_BRIDGE_TOKEN), or --allow-unauthenticated to accept that risk`,
    );
  }
  const inspectPort = count("inspect", values.inspect, true);
  if (inspectPort !== undefined && inspectPort > 65535)
    throw new UsageError(`--inspect must be at most 65535, got ${inspectPort}`);
  const inspectHost = values["inspect-host"];
  if (inspectHost !== undefined && inspectPort === undefined)
    throw new UsageError("--inspect-host needs --inspect PORT");
  if (inspectHost === "") throw new UsageError("--inspect-host must not be empty");
  if (
    inspectHost !== undefined &&
    !isLoopbackHost(inspectHost) &&
    token === undefined &&
    !values["allow-unauthenticated"]
  ) {
    throw new UsageError(
      `--inspect-host ${inspectHost} is not a loopback address and no token is set: anyone who can reach it could read every session. Pass --token T (or set DSPEX_BRIDGE_TOKEN), or --allow-unauthenticated to accept that risk`,
    );
  }
  const redis = redisStoreArgs(values, ttlSeconds);
  const storeOptions = {
    ...(ttlSeconds === undefined
      ? {}
      : { sessionTtlMs: ttlSeconds === 0 ? Number.POSITIVE_INFINITY : ttlSeconds * 1000 }),
    ...optional("maxSessions", count("max-sessions", values["max-sessions"])),
    ...optional("maxVariablesPerSession", count("max-variables", values["max-variables"])),
    ...optional("maxValueBytes", count("max-value-bytes", values["max-value-bytes"])),
    ...optional("maxVersionsPerVariable", count("max-versions", values["max-versions"])),
  };
  let tls: BridgeServerOptions["tls"];
  if (values["tls-cert"] !== undefined && values["tls-key"] !== undefined) {
    try {
      tls = { cert: readFileSync(values["tls-cert"]), key: readFileSync(values["tls-key"]) };
    } catch (error) {
      throw new UsageError(`cannot read TLS files: ${(error as Error).message}`);
    }
  }
  return {
    ...(redis === undefined ? { storeOptions } : { redis }),
    ...optional("host", values.host),
    ...optional("port", port),
    ...optional("token", token),
    ...optional("tls", tls),
    ...optional(
      "inspect",
      inspectPort === undefined
        ? undefined
        : { port: inspectPort, ...optional("host", inspectHost) },
    ),
    ...optional("maxMessageBytes", count("max-message-bytes", values["max-message-bytes"])),
    ...requestLimitFlags(values),
    ...optional("heartbeatMs", count("heartbeat-ms", values["heartbeat-ms"], false, MAX_TIMER_MS)),
    ...optional("warmUp", count("warm-up", values["warm-up"], true, 100_000)),
    ...optional(
      "shutdownTimeoutMs",
      count("shutdown-timeout-ms", values["shutdown-timeout-ms"], true, MAX_TIMER_MS),
    ),
  };
}

/** `--store` / `--store-cluster` and the flags that go with them; undefined without either. */
function redisStoreArgs(
  values: ReturnType<typeof parse>["values"],
  ttlSeconds: number | undefined,
): RedisBridgeStoreOptions | undefined {
  const url = values.store;
  const cluster = values["store-cluster"];
  const retention = count("feed-retention", values["feed-retention"]);
  const timeoutMs = count("store-timeout-ms", values["store-timeout-ms"], false, MAX_TIMER_MS);
  if (url === undefined && cluster === undefined) {
    if (retention !== undefined) throw new UsageError("--feed-retention needs --store");
    if (timeoutMs !== undefined) throw new UsageError("--store-timeout-ms needs --store");
    return undefined;
  }
  if (url !== undefined && cluster !== undefined)
    throw new UsageError("--store and --store-cluster exclude each other");
  for (const flag of ["max-sessions", "max-versions"] as const) {
    if (values[flag] !== undefined) {
      throw new UsageError(
        `--${flag} does not apply with --store: ${flag === "max-sessions" ? "Redis holds any number of sessions" : "history is what --feed-retention keeps"}`,
      );
    }
  }
  if (ttlSeconds === 0)
    throw new UsageError("--session-ttl 0 (never expire) is refused with --store");
  const rootNodes = cluster?.split(",").filter((node) => node !== "");
  for (const target of url === undefined ? (rootNodes ?? []) : [url]) {
    if (!/^(rediss?:\/\/[^/\s]+\/?|unix:\/\/\/\S+)$/.test(target)) {
      throw new UsageError(
        `--store${url === undefined ? "-cluster" : ""} expects redis://HOST:PORT${url === undefined ? " nodes" : ", rediss://... or unix:///path"}, got ${JSON.stringify(target)}`,
      );
    }
  }
  if (rootNodes !== undefined && rootNodes.length === 0)
    throw new UsageError("--store-cluster needs at least one root node");
  const limits = {
    ...optional("maxVariablesPerSession", count("max-variables", values["max-variables"])),
    ...optional("maxValueBytes", count("max-value-bytes", values["max-value-bytes"])),
  };
  return {
    ...(url === undefined ? { rootNodes: rootNodes as string[] } : { url }),
    ...optional("ttlMs", ttlSeconds === undefined ? undefined : ttlSeconds * 1000),
    ...optional("feedRetention", retention),
    ...optional("timeoutMs", timeoutMs),
    limits,
  };
}

const REQUEST_LIMIT_FLAGS = {
  "max-session-id-bytes": "maxSessionIdBytes",
  "max-identifier-bytes": "maxIdentifierBytes",
  "max-identifiers-per-request": "maxIdentifiersPerRequest",
  "max-pattern-bytes": "maxPatternBytes",
  "max-watchers-per-session": "maxWatchersPerSession",
  "max-streams-per-connection": "maxStreamsPerConnection",
  "max-watch-buffer-bytes": "maxWatchBufferBytes",
} as const;

function requestLimitFlags(values: Record<string, unknown>): Partial<BridgeServerOptions> {
  const limits: Record<string, number> = {};
  for (const [flag, option] of Object.entries(REQUEST_LIMIT_FLAGS)) {
    const n = count(flag, values[flag] as string | undefined);
    if (n !== undefined) limits[option] = n;
  }
  return limits;
}

function parse(args: readonly string[]) {
  return parseArgs({
    args: [...args],
    allowPositionals: true,
    strict: true,
    options: {
      host: { type: "string" },
      port: { type: "string" },
      token: { type: "string" },
      "session-ttl": { type: "string" },
      store: { type: "string" },
      "store-cluster": { type: "string" },
      "feed-retention": { type: "string" },
      "store-timeout-ms": { type: "string" },
      "max-sessions": { type: "string" },
      "max-variables": { type: "string" },
      "max-value-bytes": { type: "string" },
      "max-versions": { type: "string" },
      "max-message-bytes": { type: "string" },
      ...Object.fromEntries(
        Object.keys(REQUEST_LIMIT_FLAGS).map((flag) => [flag, { type: "string" as const }]),
      ),
      "heartbeat-ms": { type: "string" },
      "warm-up": { type: "string" },
      "shutdown-timeout-ms": { type: "string" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      inspect: { type: "string" },
      "inspect-host": { type: "string" },
      "allow-unauthenticated": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

const log = (line: string) => process.stderr.write(`dspex-bridge: ${line}\n`);

async function main(args: readonly string[]): Promise<number> {
  let options: ServeArgs | "help";
  try {
    options = parseServeArgs(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`dspex-bridge: ${error.message}\nRun "dspex-bridge --help" for usage.\n`);
    return 2;
  }
  if (options === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  const host = options.host ?? "127.0.0.1";
  if (!isLoopbackHost(host) && options.tls === undefined) {
    log(
      `warning: serving plaintext on ${host}, which is not a loopback address: the token and every value cross the network unencrypted (use --tls-cert and --tls-key)`,
    );
  }
  if (!isLoopbackHost(host) && options.token === undefined) {
    log(
      `warning: --allow-unauthenticated: anyone who can reach ${host} can read and change every session`,
    );
  }
  const inspectHost = options.inspect?.host;
  if (inspectHost !== undefined && !isLoopbackHost(inspectHost)) {
    log(
      `warning: the inspector on ${inspectHost} is plaintext HTTP: the token and every value cross the network unencrypted`,
    );
  }
  // Loaded only now, so the signal handlers above are in place while gRPC loads.
  const { BridgeServer } = await import("./bridge-server.js");
  if (stopSignal !== undefined) {
    log(`${stopSignal} before the server started: not starting`);
    return 0;
  }
  const { redis, ...serverOptions } = options;
  let store: import("../store/redis-bridge-store.js").RedisBridgeStore | undefined;
  if (redis !== undefined) {
    const { RedisBridgeStore } = await import("../store/redis-bridge-store.js");
    const opened = await RedisBridgeStore.open(redis);
    if (!opened.ok) {
      log(`cannot start: ${opened.error.message}`);
      return stopSignal === undefined ? 1 : 0;
    }
    store = opened.value;
    store.health.onChange((available) =>
      log(
        available ? "the store answers again: SERVING" : "the store does not answer: NOT_SERVING",
      ),
    );
  }
  let server: BridgeServer;
  try {
    server = await BridgeServer.start({ ...serverOptions, ...(store ? { store } : {}), log });
  } catch (error) {
    await store?.close();
    log(`cannot start: ${(error as Error).message}`);
    // Asked to stop meanwhile: it never started, which is what the signal asked for.
    return stopSignal === undefined ? 1 : 0;
  }
  log(
    `serving ${options.tls ? "TLS" : "plaintext"}${options.token ? " with a bearer token" : ""}; ${storeLine(server)}, ${server.limits.maxWatchersPerSession} watchers per session, ${server.limits.maxStreamsPerConnection} watch streams per connection`,
  );
  process.stdout.write(`dspex-bridge listening on ${server.address}\n`);
  if (server.inspector !== undefined) {
    process.stdout.write(`dspex-bridge inspector on ${server.inspector.url}\n`);
  }
  return new Promise<number>((resolve) => {
    onStop = (signal: NodeJS.Signals) => {
      log(`${signal}: shutting down`);
      server
        .close()
        .then(() => store?.close())
        .then(
          () => {
            log("stopped");
            resolve(0);
          },
          (error: unknown) => {
            log(`shutdown failed: ${(error as Error).message}`);
            resolve(1);
          },
        );
    };
    // A signal that came while the server was starting stops it now that it is up.
    if (stopSignal !== undefined) onStop(stopSignal);
  });
}

/** What the log says of the store: its limits in memory, its address otherwise. */
function storeLine(server: import("./bridge-server.js").BridgeServer): string {
  if (server.backing.description !== "memory") return `sessions in ${server.backing.description}`;
  const limits = server.store.limits;
  return `session TTL ${limits.sessionTtlMs / 1000} s, max ${limits.maxSessions} sessions, ${limits.maxVariablesPerSession} variables per session, ${limits.maxValueBytes} bytes per value`;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    log(`fatal: ${(error as Error)?.stack ?? String(error)}`);
    process.exitCode = 1;
  },
);
