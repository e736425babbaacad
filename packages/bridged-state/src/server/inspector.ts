import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { isIP } from "node:net";
import { dirname, join } from "node:path";
import { encodeValueJson, type VariableEvent, type VariableRecord } from "@dspex/state-provider";
import type { BridgeStore } from "../store/bridge-store.js";
import { MemoryBridgeStore } from "../store/memory-bridge-store.js";
import { type SessionInfo, SessionStore } from "../store/session-store.js";
import { protoPath } from "../wire/proto.js";

/*
 * The inspector: a small read-only web page over a bridge's store (in memory or on Redis). Sessions, each session's
 * variables updating live (server-sent events fed by the store's own subscriptions, never by
 * polling it) and a chart per numeric variable over its versions. It has no route that writes.
 */

export interface InspectorOptions {
  readonly store: SessionStore | BridgeStore;
  /** Default 127.0.0.1: only this machine. */
  readonly host?: string;
  /** Default 0: an ephemeral port (read it from `port` / `url`). */
  readonly port?: number;
  /** When set, every request must carry `Authorization: Bearer <token>` or `?token=<token>`. */
  readonly token?: string;
}

/** Unsent bytes one event stream may hold; past it the stream ends and the page reloads. */
const MAX_STREAM_BUFFER_BYTES = 1024 * 1024;
/** A comment line this often keeps idle event streams open through proxies. */
const KEEPALIVE_MS = 15_000;

interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

let assets: ReadonlyMap<string, Asset> | undefined;

/** The page and its scripts: files of this package (inspector/) and of uPlot, read once. */
function loadAssets(): ReadonlyMap<string, Asset> {
  if (assets !== undefined) return assets;
  const root = dirname(dirname(protoPath()));
  const uplot = dirname(createRequire(join(root, "package.json")).resolve("uplot"));
  const file = (path: string, type: string): Asset => ({ type, body: readFileSync(path) });
  assets = new Map([
    ["/", file(join(root, "inspector", "index.html"), "text/html; charset=utf-8")],
    ["/assets/app.js", file(join(root, "inspector", "app.js"), "text/javascript; charset=utf-8")],
    ["/assets/app.css", file(join(root, "inspector", "app.css"), "text/css; charset=utf-8")],
    ["/assets/uPlot.iife.min.js", file(join(uplot, "uPlot.iife.min.js"), "text/javascript")],
    ["/assets/uPlot.min.css", file(join(uplot, "uPlot.min.css"), "text/css")],
  ]);
  return assets;
}

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();

/** A record as the page reads it; values in the wire's JSON (special floats as strings). */
function recordJson(record: VariableRecord): string {
  return `{"id":${JSON.stringify(record.id)},"name":${JSON.stringify(record.name)},"type":${JSON.stringify(record.type)},"value":${encodeValueJson(record.type, record.value)},"version":${record.version},"metadata":${JSON.stringify(record.metadata)},"source":${JSON.stringify(record.source)},"createdAt":${record.createdAt},"updatedAt":${record.updatedAt}}`;
}

function eventJson(event: VariableEvent): string {
  return `{"kind":${JSON.stringify(event.kind)},"timestamp":${event.timestamp},"record":${recordJson(event.record)}}`;
}

function sessionJson(info: SessionInfo): string {
  return JSON.stringify({
    id: info.id,
    metadata: info.metadata,
    createdAt: info.createdAt,
    lastAccessAt: info.lastAccessAt,
    variableCount: info.variableCount,
    pinned: info.pinned,
  });
}

export class Inspector {
  readonly host: string;
  readonly port: number;
  readonly #server: Server;
  /** Open event streams, ended by `close`. */
  readonly #streams: Set<() => void>;
  #closing: Promise<void> | undefined;

  private constructor(host: string, port: number, server: Server, streams: Set<() => void>) {
    this.host = host;
    this.port = port;
    this.#server = server;
    this.#streams = streams;
  }

  /** Starts serving; resolves once it accepts connections. */
  static async start(options: InspectorOptions): Promise<Inspector> {
    const host = options.host ?? "127.0.0.1";
    const pages = loadAssets();
    const streams = new Set<() => void>();
    const expected = options.token === undefined ? undefined : digest(options.token);
    const store =
      options.store instanceof SessionStore ? MemoryBridgeStore.of(options.store) : options.store;
    const server = createServer((request, response) => {
      handle(request, response, { store, pages, streams, expected, host }).catch((error) => {
        if (!response.headersSent) {
          reply(response, 500, { error: `inspector: ${(error as Error).message}` });
        } else response.end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const address = server.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    return new Inspector(host, port, server, streams);
  }

  /** Where a browser opens it (add `?token=...` when the bridge has a token). */
  get url(): string {
    const host = this.host.includes(":") ? `[${this.host}]` : this.host;
    return `http://${host}:${this.port}/`;
  }

  /** Ends every event stream and stops listening. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      for (const end of [...this.#streams]) end();
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
    return this.#closing;
  }
}

interface Context {
  readonly store: BridgeStore;
  readonly pages: ReadonlyMap<string, Asset>;
  readonly streams: Set<() => void>;
  readonly expected: Buffer | undefined;
  readonly host: string;
}

function reply(response: ServerResponse, status: number, body: unknown, headers = {}): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store",
    ...headers,
  });
  response.end(text);
}

/**
 * Only names this server can really be reached by: a DNS name other than localhost would be a
 * rebinding page reading the sessions from the user's browser.
 */
function hostAllowed(header: string | undefined, bound: string): boolean {
  if (header === undefined) return false;
  const name = header.startsWith("[")
    ? header.slice(1, header.indexOf("]"))
    : header.replace(/:\d+$/, "");
  return name === "localhost" || name === bound || isIP(name) !== 0;
}

function authorized(request: IncomingMessage, url: URL, expected: Buffer | undefined): boolean {
  if (expected === undefined) return true;
  const header = request.headers.authorization;
  const given = header?.startsWith("Bearer ") ? header.slice(7) : url.searchParams.get("token");
  return typeof given === "string" && timingSafeEqual(digest(given), expected);
}

async function handle(
  request: IncomingMessage,
  response: ServerResponse,
  context: Context,
): Promise<void> {
  if (request.method !== "GET" && request.method !== "HEAD") {
    reply(response, 405, { error: "the inspector is read-only: GET only" }, { allow: "GET, HEAD" });
    return;
  }
  if (!hostAllowed(request.headers.host, context.host)) {
    reply(response, 421, {
      error: `unexpected Host header ${JSON.stringify(request.headers.host)}`,
    });
    return;
  }
  const url = new URL(request.url ?? "/", "http://inspector");
  // The page and its scripts hold no data and are the same for everyone: only /api needs the token.
  const asset = context.pages.get(url.pathname);
  if (asset !== undefined) {
    response.writeHead(200, {
      "content-type": asset.type,
      "cache-control": "no-cache",
      "x-content-type-options": "nosniff",
      // Scripts only from this server; uPlot sets inline styles.
      "content-security-policy":
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
    });
    response.end(asset.body);
    return;
  }
  const parts = url.pathname.split("/").slice(1).map(decodeSegment);
  if (parts[0] !== "api" || parts[1] !== "sessions" || parts.includes(undefined)) {
    reply(response, 404, { error: `no such page: ${url.pathname}` });
    return;
  }
  if (!authorized(request, url, context.expected)) {
    reply(response, 401, {
      error:
        "the bridge has a token: open the page with ?token=<token> (or send Authorization: Bearer <token>)",
    });
    return;
  }
  const [, , sessionId, what, name, extra] = parts as string[];
  const { store } = context;
  if (sessionId === undefined) {
    const sessions = await store.listSessions();
    if (!sessions.ok) return unavailable(response, sessions.error.message);
    reply(response, 200, `{"sessions":[${sessions.value.map(sessionJson).join(",")}]}`);
    return;
  }
  if (what === undefined) {
    // Read without touching: looking at a session does not keep it alive.
    const [info, listed] = await Promise.all([
      store.getSession(sessionId, { touch: false }),
      store.list(sessionId, { touch: false }),
    ]);
    if (!info.ok || !listed.ok) {
      const error = info.ok
        ? (listed as { error: { code: string; message: string } }).error
        : info.error;
      if (error.code !== "session_not_found") return unavailable(response, error.message);
      reply(response, 404, { error: `session ${JSON.stringify(sessionId)} not found` });
      return;
    }
    const variables = listed.value.map(recordJson).join(",");
    reply(response, 200, `{"session":${sessionJson(info.value)},"variables":[${variables}]}`);
  } else if (what === "history" && name !== undefined && extra === undefined) {
    const limit = url.searchParams.get("limit");
    const n = limit === null ? undefined : Number(limit);
    if (n !== undefined && !(Number.isSafeInteger(n) && n > 0)) {
      reply(response, 400, { error: `limit must be a positive integer, got ${limit}` });
      return;
    }
    const versions = await store.history(sessionId, name, n, { touch: false });
    if (!versions.ok) {
      const { code, message } = versions.error;
      const missing = code === "session_not_found" || code === "not_found";
      if (!missing) return unavailable(response, message);
      reply(response, 404, { error: message });
      return;
    }
    reply(response, 200, `{"versions":[${versions.value.map(recordJson).join(",")}]}`);
  } else if (what === "events" && name === undefined) {
    await stream(response, store, sessionId, context.streams);
  } else {
    reply(response, 404, { error: `no such page: ${url.pathname}` });
  }
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function unavailable(response: ServerResponse, message: string): void {
  reply(response, 503, { error: `the bridge's store did not answer: ${message}` });
}

/**
 * A server-sent event stream of the session's committed changes, watched before its headers go
 * out: a page that reads the variables after the stream opened misses nothing.
 */
async function stream(
  response: ServerResponse,
  store: BridgeStore,
  sessionId: string,
  streams: Set<() => void>,
): Promise<void> {
  let ended = false;
  let stopWatching: (() => void) | undefined;
  let keepalive: NodeJS.Timeout | undefined;
  const end = () => {
    if (ended) return;
    ended = true;
    streams.delete(end);
    clearInterval(keepalive);
    stopWatching?.();
    response.end();
  };
  const send = (text: string) => {
    if (ended) return;
    response.write(text);
    // A page that stopped reading: end it rather than hold its backlog (it reloads on reconnect).
    if (response.writableLength > MAX_STREAM_BUFFER_BYTES) end();
  };
  const watched = await store.watch(sessionId, {
    begin() {},
    change: (event) => send(`event: change\ndata: ${eventJson(event)}\n\n`),
    end(reason) {
      send(`event: end\ndata: ${JSON.stringify({ reason })}\n\n`);
      end();
    },
  });
  if (!watched.ok) {
    if (watched.error.code === "session_not_found")
      reply(response, 404, { error: watched.error.message });
    else unavailable(response, watched.error.message);
    return;
  }
  stopWatching = () => watched.value.close();
  if (response.destroyed) return end();
  keepalive = setInterval(() => send(": keepalive\n\n"), KEEPALIVE_MS);
  keepalive.unref();
  streams.add(end);
  response.on("close", end);
  response.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-store",
    connection: "keep-alive",
  });
  response.write("retry: 1000\n\n");
}
