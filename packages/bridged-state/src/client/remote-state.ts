import { randomUUID } from "node:crypto";
import {
  buildExport,
  type Constraints,
  checkRegistration,
  checkValue,
  compilePattern,
  decodeConstraintsJson,
  type ExportedState,
  encodeConstraintsJson,
  encodeValueJson,
  err,
  eventOf,
  type Identifier,
  isVariableType,
  type Metadata,
  type NameMatcher,
  ok,
  type ParsedExport,
  type RegistrationInput,
  type Result,
  type StateError,
  StateErrors,
  type Subscriber,
  type SubscriptionId,
  typeUrlFor,
  type VariableEvent,
  type VariableRecord,
  type VariableType,
  type VariableValue,
  type VariableVersion,
} from "@dspex/state-provider";
import {
  BackendProvider,
  BackendSession,
  define,
  type OpenRequest,
  own,
  type Versioned,
  versionOf,
} from "@dspex/state-provider/backend";
import * as grpc from "@grpc/grpc-js";
import { BRIDGE_CAPABILITIES } from "../capabilities.js";
import { MAX_TIMER_MS, numberOption } from "../options.js";
import {
  type BatchSetResponse,
  decodeBatchSetResponse,
  encodeBatchSetRequest,
  MalformedMessage,
  type WireAny,
} from "../wire/batch-set-encoding.js";
import { encodeBinary, wantsBinary } from "../wire/binary-format.js";
import { decodeWireValue, fromTimestamp } from "../wire/codec.js";
import type { Any__Output } from "../wire/generated/google/protobuf/Any.js";
import type { BridgeServiceClient } from "../wire/generated/snakepit/bridge/BridgeService.js";
import type { Variable__Output } from "../wire/generated/snakepit/bridge/Variable.js";
import type { VariableUpdate__Output } from "../wire/generated/snakepit/bridge/VariableUpdate.js";
import { loadBridgeProto } from "../wire/proto.js";
import { errorFromTrailer, fromServiceError } from "../wire/status.js";
import { ReadCache, type ReadCacheStats } from "./read-cache.js";

export interface RemoteStateOptions {
  /** `host:port` of a BridgeService (e.g. the line `dspex-bridge serve` prints). */
  readonly address?: string;
  /**
   * Several bridges serving the same sessions from one shared store (`--store redis://...`):
   * calls go to one at a time and move to the next when it cannot be reached (README,
   * "Several bridges"). Give `address` or `addresses`, not both.
   */
  readonly addresses?: readonly string[];
  /** Sent as `authorization: Bearer <token>` on every call. */
  readonly token?: string;
  /** TLS: `true` for the system roots, or the PEM root certificate to trust. */
  readonly tls?: boolean | { readonly ca: string | Buffer };
  /** Deadline of every call, retries included. Default 5 000 ms. */
  readonly deadlineMs?: number;
  /**
   * With several addresses: how long a call waits for a connection to one bridge before it
   * tries the next (nothing was sent, so any call may go elsewhere). Default 1 000 ms.
   */
  readonly connectTimeoutMs?: number;
  /** Largest message received or sent. Default 16 MiB. */
  readonly maxMessageBytes?: number;
  /** Longest wait between attempts to re-open a watch stream. Default 1 000 ms. */
  readonly maxResubscribeDelayMs?: number;
  /**
   * Interval of HTTP/2 keepalive pings on the channel, with or without calls in flight.
   * Default 10 000 ms. A BridgeServer accepts pings every 250 ms or slower
   * (`MIN_PING_INTERVAL_MS`); other servers may answer faster pings with GOAWAY `too_many_pings`.
   */
  readonly keepaliveTimeMs?: number;
  /**
   * How long a ping may go unanswered before the connection counts as dead: its calls fail
   * `unavailable` and watches re-open on a new connection. Default 5 000 ms.
   */
  readonly keepaliveTimeoutMs?: number;
  /**
   * Opt-in read cache per session: `true` (every variable) or a glob of names. Each session
   * opens one watch stream and answers reads of what it delivered from memory (about a
   * microsecond), never staler than the stream and reading its own writes (README, "Read
   * cache"); while the stream is down or catching up, reads go to the server.
   */
  readonly readCache?: boolean | string;
}

export const DEFAULT_KEEPALIVE_TIME_MS = 10_000;
export const DEFAULT_KEEPALIVE_TIMEOUT_MS = 5_000;

const NAME = "RemoteState";

/** Pause after every bridge of the pool failed a call once, doubling up to the maximum. */
const FIRST_ROUND_DELAY_MS = 50;
const MAX_ROUND_DELAY_MS = 500;

/** What the client remembers of a variable to encode writes: it never changes for an id. */
interface VariableShape {
  readonly id: string;
  readonly name: string;
  readonly type: VariableType;
  readonly constraints: Constraints;
}

type CheckedRegistration = Extract<ReturnType<typeof checkRegistration>, { ok: true }>["value"];

type CallAnswer<Res> =
  | { response: Res; trailer: grpc.Metadata | undefined }
  | {
      error: StateError;
      /**
       * An earlier attempt reached a bridge that went away before answering: it may have
       * applied. A retried registration answering `already_exists`, or a delete `not_found`,
       * may be hearing its own first attempt.
       */
      ambiguous: boolean;
    };

/**
 * Which calls may go to another bridge after one failed ambiguously (it took the call and went
 * away before answering). A call that never reached a bridge may always go again.
 */
type RetryAfterAmbiguous = "retry" | "never";

/**
 * How a failed attempt failed, for failover: `unreached` when nothing reached a bridge (no
 * connection, GOAWAY's refused stream, a bridge shutting down), `ambiguous` when the bridge
 * took the call and the connection or its store failed before the answer, undefined for an
 * answer (every other status, the deadline's included: it is the whole call's).
 */
export function failoverKind(error: grpc.ServiceError): "unreached" | "ambiguous" | undefined {
  if (error.code === grpc.status.UNAVAILABLE) {
    const details = error.details ?? "";
    // grpc-js's words for a pick with no connection and for REFUSED_STREAM (a GOAWAY's streams
    // the server never began), and the BridgeServer's interceptor, which answers before the handler.
    if (/^No connection established|^Stream refused by server|shutting down/.test(details))
      return "unreached";
    return "ambiguous";
  }
  // This client never cancels a unary call; grpc-js reports a peer's reset (a force shutdown)
  // as CANCELLED when it sees the RST_STREAM before the connection close.
  if (error.code === grpc.status.CANCELLED) return "ambiguous";
  return undefined;
}

/** The bridges of one pool, as given: one or several `host:port` strings, none twice. */
function bridgeAddresses(options: RemoteStateOptions): readonly string[] {
  const { address, addresses } = options ?? {};
  if ((address === undefined) === (addresses === undefined)) {
    throw new TypeError(
      "RemoteState: give exactly one of options.address (a host:port string) and options.addresses (an array of them)",
    );
  }
  if (address !== undefined) {
    if (typeof address !== "string" || address === "")
      throw new TypeError("RemoteState: options.address must be a host:port string");
    return [address];
  }
  if (!Array.isArray(addresses) || addresses.length === 0)
    throw new TypeError(
      "RemoteState: options.addresses must be a non-empty array of host:port strings",
    );
  const seen = new Set<string>();
  for (const [index, each] of addresses.entries()) {
    if (typeof each !== "string" || each === "")
      throw new TypeError(
        `RemoteState: options.addresses[${index}] must be a host:port string, got ${JSON.stringify(each) ?? String(each)}`,
      );
    if (seen.has(each))
      throw new TypeError(`RemoteState: options.addresses lists ${JSON.stringify(each)} twice`);
    seen.add(each);
  }
  return Object.freeze([...addresses]);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The channels a RemoteState shares with its sessions, one per bridge address: open while any
 * session is. Calls go to the current bridge; one that cannot be reached hands over to the next.
 */
class Link {
  readonly #options: RemoteStateOptions;
  readonly addresses: readonly string[];
  readonly deadlineMs: number;
  readonly #connectTimeoutMs: number;
  readonly #keepaliveTimeMs: number;
  readonly #keepaliveTimeoutMs: number;
  #clients: (BridgeServiceClient | undefined)[] = [];
  #current = 0;
  #openSessions = 0;

  constructor(options: RemoteStateOptions) {
    this.#options = options;
    this.addresses = bridgeAddresses(options);
    this.deadlineMs = numberOption(NAME, "deadlineMs", options.deadlineMs, 5_000, {
      max: MAX_TIMER_MS,
    });
    this.#connectTimeoutMs = numberOption(
      NAME,
      "connectTimeoutMs",
      options.connectTimeoutMs,
      1_000,
      { max: MAX_TIMER_MS },
    );
    numberOption(NAME, "maxResubscribeDelayMs", options.maxResubscribeDelayMs, 1_000, {
      max: MAX_TIMER_MS,
    });
    numberOption(NAME, "maxMessageBytes", options.maxMessageBytes, 16 * 1024 * 1024);
    this.#keepaliveTimeMs = numberOption(
      NAME,
      "keepaliveTimeMs",
      options.keepaliveTimeMs,
      DEFAULT_KEEPALIVE_TIME_MS,
      { max: MAX_TIMER_MS },
    );
    this.#keepaliveTimeoutMs = numberOption(
      NAME,
      "keepaliveTimeoutMs",
      options.keepaliveTimeoutMs,
      DEFAULT_KEEPALIVE_TIMEOUT_MS,
      { max: MAX_TIMER_MS },
    );
  }

  /** Whether any session holds the channels open. */
  get open(): boolean {
    return this.#openSessions > 0;
  }

  /** The bridge calls go to now. */
  get currentAddress(): string {
    return this.addresses[this.#current] as string;
  }

  get maxResubscribeDelayMs(): number {
    return this.#options.maxResubscribeDelayMs ?? 1_000;
  }

  get readCache(): string | undefined {
    const wanted = this.#options.readCache;
    return wanted === true ? "*" : wanted === false ? undefined : wanted;
  }

  /** The channels stay while any session is open; closed with the last one. */
  acquire(): void {
    this.#openSessions++;
  }

  release(): void {
    if (--this.#openSessions <= 0) {
      this.#openSessions = 0;
      for (const client of this.#clients) client?.close();
      this.#clients = [];
    }
  }

  /** The channel to one bridge, made on first use. */
  #clientAt(index: number): BridgeServiceClient | undefined {
    if (this.#openSessions === 0) return undefined;
    let client = this.#clients[index];
    if (client === undefined) {
      const tls = this.#options.tls;
      const credentials =
        tls === undefined || tls === false
          ? grpc.credentials.createInsecure()
          : grpc.credentials.createSsl(tls === true ? null : Buffer.from(tls.ca));
      const maxBytes = this.#options.maxMessageBytes ?? 16 * 1024 * 1024;
      client = new (rawReadsClient())(this.addresses[index] as string, credentials, {
        "grpc.max_receive_message_length": maxBytes,
        "grpc.max_send_message_length": maxBytes,
        // Come back quickly after the server restarts.
        "grpc.initial_reconnect_backoff_ms": 100,
        "grpc.max_reconnect_backoff_ms": 1_000,
        // Without pings, a call or watch on a connection whose peer went silent (host gone,
        // process stopped, NAT dropped it) waits for its deadline, a watch forever.
        "grpc.keepalive_time_ms": this.#keepaliveTimeMs,
        "grpc.keepalive_timeout_ms": this.#keepaliveTimeoutMs,
        "grpc.keepalive_permit_without_calls": 1,
      });
      this.#clients[index] = client;
    }
    return client;
  }

  /** The bridge at `index` failed: the next calls go to the one after it (once, however many saw it fail). */
  #moveOn(index: number): void {
    if (this.#current === index) this.#current = (index + 1) % this.addresses.length;
  }

  /**
   * Waits for a connection to the bridge at `index`: true, or why there is none (nothing was
   * sent). A refused connection answers at once; a connection still being made after
   * `connectTimeoutMs` (a pool of one waits until `deadline`) counts as unreachable.
   */
  #reach(client: BridgeServiceClient, deadline: number): Promise<true | string> | true {
    const channel = client.getChannel();
    const first = channel.getConnectivityState(true);
    if (first === grpc.connectivityState.READY) return true;
    const budgetEnd =
      this.addresses.length > 1
        ? Math.min(deadline, Date.now() + this.#connectTimeoutMs)
        : deadline;
    const started = Date.now();
    const timedOut = () => `no connection after ${Date.now() - started} ms`;
    return new Promise((resolve) => {
      const wait = (state: grpc.connectivityState) => {
        if (state === grpc.connectivityState.READY) return resolve(true);
        if (state === grpc.connectivityState.TRANSIENT_FAILURE)
          return resolve("the connection failed (refused or dropped)");
        if (state === grpc.connectivityState.SHUTDOWN) return resolve("the channel is closed");
        if (Date.now() >= budgetEnd) return resolve(timedOut());
        channel.watchConnectivityState(state, budgetEnd, (error) => {
          if (error !== undefined) resolve(timedOut());
          else wait(channel.getConnectivityState(true));
        });
      };
      wait(first);
    });
  }

  metadata(): grpc.Metadata {
    const metadata = new grpc.Metadata();
    if (this.#options.token !== undefined)
      metadata.set("authorization", `Bearer ${this.#options.token}`);
    return metadata;
  }

  /**
   * One unary call with a deadline, retried on another bridge (round robin) when one cannot
   * be reached, until the deadline; errors come back as contract errors. A bridge that took the
   * call and went away before answering is not tried again by this call (`afterAmbiguous`
   * says whether any other may be); every other failure is the answer.
   */
  async call<Res>(
    method: keyof BridgeServiceClient & string,
    request: object,
    subject: { sessionId?: string; identifier?: string } = {},
    afterAmbiguous: RetryAfterAmbiguous = "retry",
  ): Promise<CallAnswer<Res>> {
    const deadline = Date.now() + this.deadlineMs;
    const count = this.addresses.length;
    const gone = new Set<number>();
    let ambiguous = false;
    let failedInRound = 0;
    let roundDelay = FIRST_ROUND_DELAY_MS;
    let last: StateError | undefined;
    for (;;) {
      const index = this.#current;
      const client = this.#clientAt(index);
      if (client === undefined) return { error: StateErrors.closed(NAME), ambiguous };
      const reached = gone.has(index)
        ? "it went away during this call"
        : this.#reach(client, deadline);
      const outcome = reached === true ? true : await reached;
      if (outcome === true) {
        const answer = await unaryCall<Res>(client, method, request, this.metadata(), deadline);
        if ("response" in answer) return answer;
        const kind = failoverKind(answer.failure);
        const mapped = fromServiceError(answer.failure, subject);
        if (kind === undefined) return { error: mapped, ambiguous };
        last = mapped;
        if (kind === "ambiguous") {
          ambiguous = true;
          gone.add(index);
          if (afterAmbiguous === "never" || gone.size === count)
            return { error: this.#exhausted(last, ambiguous), ambiguous };
        }
      } else {
        last = StateErrors.unavailable(
          `bridge unavailable (UNAVAILABLE): ${this.addresses[index]}: ${outcome}`,
        );
      }
      this.#moveOn(index);
      if (++failedInRound >= count) {
        failedInRound = 0;
        const left = deadline - Date.now();
        if (left > 0) await sleep(Math.min(roundDelay, left));
        roundDelay = Math.min(roundDelay * 2, MAX_ROUND_DELAY_MS);
      }
      if (Date.now() >= deadline) return { error: this.#exhausted(last, ambiguous), ambiguous };
    }
  }

  /** The answer once no bridge could take a call: the last failure, naming the pool. */
  #exhausted(last: StateError, ambiguous: boolean): StateError {
    if (last.code !== "unavailable" || (this.addresses.length === 1 && !ambiguous)) return last;
    const pool = this.addresses.length > 1 ? ` (tried ${this.addresses.join(", ")})` : "";
    const maybe = ambiguous
      ? "; a bridge took the call before it went away: it may have applied"
      : "";
    return StateErrors.unavailable(`${last.message}${pool}${maybe}`);
  }

  /**
   * Opens a WatchVariables stream on the current bridge (waiting for a connection, as a call
   * does). When the stream fails because the bridge went away, the next opens go to the next one.
   */
  async watch(
    request: object,
    deadline: number,
  ): Promise<
    | { call: grpc.ClientReadableStream<VariableUpdate__Output>; address: string }
    | { unreached: string }
    | { closed: true }
  > {
    const index = this.#current;
    const client = this.#clientAt(index);
    if (client === undefined) return { closed: true };
    const reached = this.#reach(client, deadline);
    const outcome = reached === true ? true : await reached;
    if (outcome !== true) {
      this.#moveOn(index);
      return {
        unreached: `bridge unavailable (UNAVAILABLE): ${this.addresses[index]}: ${outcome}`,
      };
    }
    // The channel may have closed while waiting (the last session closed).
    if (this.#clients[index] !== client) return { closed: true };
    const call = client.WatchVariables(request, this.metadata());
    // Only UNAVAILABLE: this client cancels its own streams (CANCELLED), and a peer's reset
    // shows at the re-open, whose connection is then refused.
    call.on("error", (error: grpc.ServiceError) => {
      if (error.code === grpc.status.UNAVAILABLE) this.#moveOn(index);
    });
    return { call, address: this.addresses[index] as string };
  }
}

/** One attempt of a unary call: the response with its trailer, or the failure. */
function unaryCall<Res>(
  client: BridgeServiceClient,
  method: keyof BridgeServiceClient & string,
  request: object,
  metadata: grpc.Metadata,
  deadline: number,
): Promise<{ response: Res; trailer: grpc.Metadata | undefined } | { failure: grpc.ServiceError }> {
  return new Promise((resolve) => {
    let response: Res | undefined;
    let failure: grpc.ServiceError | null = null;
    const fn = client[method] as unknown as (
      request: object,
      metadata: grpc.Metadata,
      options: grpc.CallOptions,
      callback: (error: grpc.ServiceError | null, response?: Res) => void,
    ) => grpc.ClientUnaryCall;
    const call = fn.call(client, request, metadata, { deadline }, (error, value) => {
      failure = error;
      response = value;
    });
    // The status (with its trailer) arrives after the callback.
    call.on("status", (status: grpc.StatusObject) => {
      if (failure !== null) resolve({ failure });
      else resolve({ response: response as Res, trailer: status.metadata });
    });
  });
}

/** The answers of the read methods, as the proto-loader client would have decoded them. */
const decodeGetVariable = (bytes: Buffer) =>
  loadBridgeProto().grpcObject.snakepit.bridge.BridgeService.service.GetVariable.responseDeserialize(
    bytes,
  ) as { variable: Variable__Output | null };
const decodeGetVariables = (bytes: Buffer) =>
  loadBridgeProto().grpcObject.snakepit.bridge.BridgeService.service.GetVariables.responseDeserialize(
    bytes,
  ) as { variables: Record<string, Variable__Output> };

const encodeGetRequest = (request: object) =>
  loadBridgeProto().grpcObject.snakepit.bridge.BridgeService.service.GetVariable.requestSerialize(
    request as never,
  );

let rawReads: typeof grpc.Client | undefined;

/**
 * The BridgeService client, except that GetVariable and GetVariables answer their bytes: a
 * session decodes them, and answers bytes equal to the last ones it decoded for the same read
 * with the records it made of them (same bytes, same message), so reading unchanged variables
 * costs no protobuf decode, JSON parse or value check.
 */
function rawReadsClient(): new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options: grpc.ClientOptions,
) => BridgeServiceClient {
  if (rawReads === undefined) {
    const service = loadBridgeProto().grpcObject.snakepit.bridge.BridgeService.service;
    const bytes = (buffer: Buffer) => buffer;
    const serialize = service.GetVariable.requestSerialize;
    rawReads = grpc.makeGenericClientConstructor(
      {
        ...service,
        GetVariable: {
          ...service.GetVariable,
          // A session sends the bytes it encoded once for the identifier.
          requestSerialize: (request: object) =>
            Buffer.isBuffer(request) ? request : serialize(request as never),
          responseDeserialize: bytes,
        },
        GetVariables: { ...service.GetVariables, responseDeserialize: bytes },
        SetVariables: {
          ...service.SetVariables,
          // A batch is encoded by hand (encodeBatchSetRequest): its bytes go out as they are.
          requestSerialize: (request: object) =>
            Buffer.isBuffer(request)
              ? request
              : service.SetVariables.requestSerialize(request as never),
          // Decoded by the session, which knows the keys to expect.
          responseDeserialize: bytes,
        },
      },
      "BridgeService",
    );
  }
  return rawReads as unknown as new (
    address: string,
    credentials: grpc.ChannelCredentials,
    options: grpc.ClientOptions,
  ) => BridgeServiceClient;
}

/** How many reads' last answers a session keeps decoded (by identifier, or by batch). */
const DECODED_ANSWERS = 1024;

/** The last answer's bytes of one read, and what they decoded to. */
interface Decoded<T> {
  readonly bytes: Buffer;
  readonly value: T;
}

let nextSubscription = 0;

/**
 * The state handle of RemoteState: a session on a remote BridgeService, and its storage for
 * the backend core (which checks every argument and owns the closed state before a call gets
 * here). The server decides every write; the client checks values too, to encode them.
 */
export class RemoteSession extends BackendSession {
  /** @internal */
  readonly watches = new Map<SubscriptionId, RemoteWatch>();
  /** @internal identifier (id or name) → shape, to encode writes without a round trip. */
  readonly shapes = new Map<string, VariableShape>();
  /** @internal the opt-in read cache (`RemoteStateOptions.readCache`). */
  cache: ReadCache | undefined;
  readonly #decodedReads = new Map<string, Decoded<VariableRecord>>();
  /** identifier → its GetVariable request, encoded once. */
  readonly #getRequests = new Map<string, Buffer>();
  readonly #decodedBatches = new Map<string, Decoded<ReadonlyMap<Identifier, VariableRecord>>>();
  readonly #link: Link;

  constructor(
    sessionId: string,
    /** True when `init` created the session (cleanup deletes it); false when it joined one. */
    readonly ownsSession: boolean,
    link: Link,
  ) {
    super(sessionId);
    this.#link = link;
  }

  /** The bridge this session's calls go to now (one of `RemoteState.addresses`). */
  get address(): string {
    return this.#link.currentAddress;
  }

  #call<Res>(
    method: keyof BridgeServiceClient & string,
    request: object,
    identifier?: string,
    afterAmbiguous?: RetryAfterAmbiguous,
  ): Promise<CallAnswer<Res>> {
    return this.#link.call<Res>(
      method,
      { session_id: this.sessionId, ...request },
      identifier === undefined
        ? { sessionId: this.sessionId }
        : { sessionId: this.sessionId, identifier },
      afterAmbiguous,
    );
  }

  async register(
    input: RegistrationInput,
    requestId?: string,
  ): Promise<Result<{ readonly id: string }>> {
    // Checked here too, so the value can be encoded; the server checks again (it decides).
    const checked = checkRegistration(input);
    if (!checked.ok) return checked;
    const c = checked.value;
    const encoded = encodeForWire(c.type, c.value);
    const answer = await this.#call<{ variable_id: string }>(
      "RegisterVariable",
      {
        name: c.name,
        type: c.type,
        initial_value: encoded.any,
        initial_binary_value: encoded.binary,
        constraints_json: encodeConstraintsJson(c.constraints),
        metadata: c.metadata,
        // The same id on every attempt: a bridge that applied the first answers its id again.
        request_id: requestId ?? randomUUID(),
      },
      c.name,
    );
    let id: string;
    if (!("error" in answer)) id = answer.response.variable_id;
    else {
      // A bridge that keeps no request ids (Snakepit's own) answers a retry `already_exists`:
      // the first attempt may have registered it, and the variable it would have made is ours.
      const own =
        answer.ambiguous && answer.error.code === "already_exists"
          ? await this.#ownRegistration(c)
          : undefined;
      if (own === undefined) return err(answer.error);
      id = own;
    }
    remember(this, { id, name: c.name, type: c.type, constraints: c.constraints });
    this.cache?.noteRegister(c.name, id);
    return ok({ id });
  }

  /**
   * The id of the variable under `c.name` if it is exactly what registering `c` made (same type,
   * constraints and value, version 1, the metadata sent): a retried registration that answers
   * `already_exists` after an ambiguous failure is then its own first attempt. Anything else,
   * such as a variable changed since, stays `already_exists`.
   */
  async #ownRegistration(c: CheckedRegistration): Promise<string | undefined> {
    const found = await this.#fetch(c.name);
    if (!found.ok) return undefined;
    const record = found.value;
    const same =
      record.type === c.type &&
      record.version === 1 &&
      encodeConstraintsJson(record.constraints) === encodeConstraintsJson(c.constraints) &&
      encodeValueJson(record.type, record.value) === encodeValueJson(c.type, c.value) &&
      Object.entries(c.metadata).every(([key, value]) => own(record.metadata, key) === value);
    return same ? record.id : undefined;
  }

  override value(identifier: Identifier): Promise<Result<VariableValue>> | Result<VariableValue> {
    const cached = this.cache?.lookup(identifier);
    if (cached !== undefined) return ok(cached.value);
    return this.#fetch(identifier).then((record) => (record.ok ? ok(record.value.value) : record));
  }

  record(identifier: Identifier): Promise<Result<VariableRecord>> | Result<VariableRecord> {
    const cached = this.cache?.lookup(identifier);
    return cached !== undefined ? ok(cached) : this.#fetch(identifier);
  }

  async #fetch(identifier: Identifier): Promise<Result<VariableRecord>> {
    let request = this.#getRequests.get(identifier);
    if (request === undefined) {
      request = encodeGetRequest({
        session_id: this.sessionId,
        variable_identifier: identifier,
        prefer_binary: true,
      });
      if (this.#getRequests.size >= DECODED_ANSWERS) this.#getRequests.clear();
      this.#getRequests.set(identifier, request);
    }
    const answer = await this.#link.call<Buffer>("GetVariable", request, {
      sessionId: this.sessionId,
      identifier,
    });
    if ("error" in answer) return err(answer.error);
    const bytes = answer.response;
    const last = this.#decodedReads.get(identifier);
    if (last?.bytes.equals(bytes)) return ok(relearn(this, last.value));
    const record = recordFromWire(this, decodeGetVariable(bytes).variable);
    if (record.ok) keepDecoded(this.#decodedReads, identifier, bytes, record.value);
    return record;
  }

  async write(
    identifier: Identifier,
    value: unknown,
    metadata: Metadata,
    expected: number | undefined,
    requestId?: string,
  ): Promise<Result<Versioned>> {
    if (expected !== undefined && !isWireVersion(expected)) {
      // The wire cannot carry it (0 means "no expectation" there); no version ever equals it.
      const current = await this.#fetch(identifier);
      if (!current.ok) return current;
      return err(StateErrors.versionConflict(identifier, expected, current.value.version));
    }
    for (let attempt = 0; ; attempt++) {
      const cached = attempt === 0 && this.shapes.has(identifier);
      const shape = await this.#shape(identifier);
      if (!shape.ok) return shape;
      const checked = checkValue(
        shape.value.name,
        shape.value.type,
        value,
        shape.value.constraints,
      );
      if (!checked.ok) {
        // Cached rules may be stale (the name registered again elsewhere): look them up once.
        if (cached) {
          forget(this, identifier);
          continue;
        }
        return expected === undefined ? checked : this.#refusedFirst(identifier, expected, checked);
      }
      const encoded = encodeForWire(shape.value.type, checked.value);
      const answer = await this.#call<{ new_version: number }>(
        "SetVariable",
        {
          variable_identifier: identifier,
          value: encoded.any,
          binary_value: encoded.binary,
          metadata,
          expected_version: expected ?? 0,
          // Sent again with the same id when a bridge goes away: the store applies it once.
          request_id: requestId ?? randomUUID(),
        },
        identifier,
      );
      if (!("error" in answer)) {
        this.cache?.noteWrite(keysOf(shape.value, identifier), answer.response.new_version);
        return ok({ version: answer.response.new_version });
      }
      // The name may now belong to another variable (deleted and registered again elsewhere).
      if (attempt === 0 && isStale(answer.error)) {
        forget(this, identifier);
        continue;
      }
      return err(answer.error);
    }
  }

  async list(): Promise<Result<readonly VariableRecord[]>> {
    const answer = await this.#call<{ variables: Variable__Output[] }>("ListVariables", {
      prefer_binary: true,
    });
    if ("error" in answer) return err(answer.error);
    const records: VariableRecord[] = [];
    for (const variable of answer.response.variables) {
      const record = recordFromWire(this, variable);
      if (!record.ok) return record;
      records.push(record.value);
    }
    return ok(records);
  }

  async records(
    identifiers: readonly Identifier[],
  ): Promise<Result<ReadonlyMap<Identifier, VariableRecord>>> {
    const found = new Map<Identifier, VariableRecord>();
    let uncached = identifiers;
    const cache = this.cache;
    if (cache !== undefined) {
      const rest: Identifier[] = [];
      for (const identifier of identifiers) {
        const cached = cache.lookup(identifier);
        if (cached === undefined) rest.push(identifier);
        else found.set(identifier, cached);
      }
      if (rest.length === 0) return ok(found);
      uncached = rest;
    }
    const answer = await this.#call<Buffer>("GetVariables", {
      variable_identifiers: uncached,
      prefer_binary: true,
    });
    if ("error" in answer) return err(answer.error);
    const bytes = answer.response;
    const key = uncached.join("\u0000");
    const last = this.#decodedBatches.get(key);
    let decoded: ReadonlyMap<Identifier, VariableRecord>;
    if (last?.bytes.equals(bytes)) {
      decoded = last.value;
      for (const record of decoded.values()) relearn(this, record);
    } else {
      const variables = decodeGetVariables(bytes).variables;
      const fresh = new Map<Identifier, VariableRecord>();
      for (const identifier of uncached) {
        const variable = own(variables, identifier);
        if (variable === undefined) continue;
        const record = recordFromWire(this, variable);
        if (!record.ok) return record;
        fresh.set(identifier, record.value);
      }
      keepDecoded(this.#decodedBatches, key, bytes, fresh);
      decoded = fresh;
    }
    if (found.size === 0) return ok(decoded);
    for (const [identifier, record] of decoded) found.set(identifier, record);
    return ok(found);
  }

  async writeMany(
    updates: readonly (readonly [Identifier, unknown])[],
    metadata: Metadata,
    expectations: Readonly<Record<Identifier, number>> | undefined,
    requestId?: string,
  ): Promise<Result<Readonly<Record<Identifier, number>>>> {
    const identifiers = updates.map(([identifier]) => identifier);
    const expectedVersions: Record<string, number> = {};
    const unexpressible: string[] = [];
    for (const identifier of identifiers) {
      const version = own(expectations, identifier);
      if (version === undefined) continue;
      if (isWireVersion(version)) define(expectedVersions, identifier, version);
      else unexpressible.push(identifier);
    }
    // Cached rules may be stale (a name deleted and registered again elsewhere): items they
    // refuse, here or on the server, are looked up again and the batch is tried once more.
    for (let attempt = 0; ; attempt++) {
      const unknown = identifiers.filter(
        (identifier) => !this.shapes.has(identifier) || unexpressible.includes(identifier),
      );
      const versionsSeen = new Map<string, number>();
      if (unknown.length > 0) {
        const fetched = await this.#call<Buffer>("GetVariables", { variable_identifiers: unknown });
        if ("error" in fetched) return err(fetched.error);
        for (const [identifier, variable] of Object.entries(
          decodeGetVariables(fetched.response).variables,
        )) {
          rememberWire(this, variable);
          versionsSeen.set(identifier, variable.version);
        }
      }
      const fromCache = (identifier: string) => attempt === 0 && !unknown.includes(identifier);
      // Entries in the order given (the core's entries of an object: each identifier once).
      const wireUpdates: [string, WireAny][] = [];
      const binaryUpdates: [string, Buffer][] = [];
      const localFailures: Record<string, StateError> = {};
      const suspects: string[] = [];
      for (const [identifier, given] of updates) {
        const shape = this.shapes.get(identifier);
        if (shape === undefined) {
          // Unknown here: the server reports it (not_found) with the rest of the batch.
          wireUpdates.push([identifier, REJECTED_PLACEHOLDER("string")]);
          continue;
        }
        if (unexpressible.includes(identifier)) {
          const expected = own(expectations, identifier) ?? 0;
          define(
            localFailures,
            identifier,
            StateErrors.versionConflict(identifier, expected, versionsSeen.get(identifier) ?? 0),
          );
          wireUpdates.push([identifier, REJECTED_PLACEHOLDER(shape.type)]);
          continue;
        }
        const checked = checkValue(shape.name, shape.type, given, shape.constraints);
        if (!checked.ok) {
          if (fromCache(identifier)) suspects.push(identifier);
          define(localFailures, identifier, checked.error);
          // Sent as a value the server must reject, so an atomic batch applies nothing.
          wireUpdates.push([identifier, REJECTED_PLACEHOLDER(shape.type)]);
          continue;
        }
        if (wantsBinary(shape.type, checked.value)) {
          const encoded = encodeForWire(shape.type, checked.value);
          wireUpdates.push([identifier, encoded.any]);
          binaryUpdates.push([identifier, encoded.binary]);
        } else {
          // JSON text, written into the request as it is encoded.
          wireUpdates.push([
            identifier,
            { type_url: typeUrlFor(shape.type), value: encodeValueJson(shape.type, checked.value) },
          ]);
        }
      }
      if (suspects.length > 0) {
        for (const identifier of suspects) forget(this, identifier);
        continue;
      }
      const answer = await this.#link.call<Buffer>(
        "SetVariables",
        encodeBatchSetRequest({
          session_id: this.sessionId,
          updates: wireUpdates,
          binary_updates: binaryUpdates,
          metadata,
          atomic: true,
          expected_versions: expectedVersions,
          request_id: requestId ?? randomUUID(),
        }),
        { sessionId: this.sessionId },
      );
      if ("error" in answer) return err(answer.error);
      const decoded = decodedAnswer(answer.response, identifiers);
      if (!decoded.ok) return decoded;
      const { success, errors, new_versions } = decoded.value;
      if (success) {
        const cache = this.cache;
        if (cache !== undefined) {
          for (const [identifier, version] of Object.entries(new_versions)) {
            const shape = this.shapes.get(identifier);
            cache.noteWrite(
              shape === undefined ? [identifier] : keysOf(shape, identifier),
              version,
            );
          }
        }
        // The decoded answer is this call's own object: no copy.
        return ok(new_versions);
      }
      const carried = errorFromTrailer(answer.trailer);
      const carriedFailures = carried?.code === "partial_failure" ? carried.failed : undefined;
      const failed: Record<string, StateError> = {};
      for (const identifier of Object.keys(errors)) {
        const carriedItem = own(carriedFailures, identifier);
        define(
          failed,
          identifier,
          // The server's answer when it comes before the value (the contract's order), else
          // what this client found wrong with the value it did not send.
          (carriedItem !== undefined && answersBeforeValue(carriedItem)
            ? carriedItem
            : undefined) ??
            own(localFailures, identifier) ??
            carriedItem ??
            StateErrors.validation(identifier, "value", own(errors, identifier) ?? "failed"),
        );
      }
      // Atomic: nothing was applied, so a batch refused for stale cached types can go again.
      const stale = Object.keys(failed).filter(
        (identifier) => fromCache(identifier) && isStale(own(failed, identifier)),
      );
      if (stale.length > 0) {
        for (const identifier of stale) forget(this, identifier);
        continue;
      }
      return err(StateErrors.partialFailure(failed, Object.keys(new_versions)));
    }
  }

  async remove(identifier: Identifier, requestId?: string): Promise<Result<undefined>> {
    const answer = await this.#call(
      "DeleteVariable",
      { variable_identifier: identifier, request_id: requestId ?? randomUUID() },
      identifier,
    );
    // Retried after an ambiguous failure on a bridge that keeps no request ids, `not_found` is
    // the first attempt's deletion.
    if ("error" in answer && !(answer.ambiguous && answer.error.code === "not_found"))
      return err(answer.error);
    const shape = this.shapes.get(identifier);
    this.cache?.noteDelete(shape === undefined ? [identifier] : keysOf(shape, identifier));
    forget(this, identifier);
    return ok();
  }

  async exportState(): Promise<Result<ExportedState>> {
    const session = await this.#call<{ metadata: Record<string, string> }>("GetSession", {});
    if ("error" in session) return err(session.error);
    const records = await this.list();
    if (!records.ok) return records;
    return ok(buildExport(this.sessionId, records.value, session.response.metadata));
  }

  async import(parsed: ParsedExport): Promise<Result<undefined>> {
    // The core validated the document; the server validates it again (it decides).
    const document = buildExport(parsed.sessionId, parsed.records, parsed.metadata);
    // Not sent again once a bridge may have applied it: the store keeps no request id for it.
    const answer = await this.#call(
      "ImportState",
      { export_json: JSON.stringify(document) },
      undefined,
      "never",
    );
    if ("error" in answer) return err(answer.error);
    // Imported records may replace variables under the same names: re-learn shapes on demand,
    // and serve nothing cached until the stream delivers the session afresh.
    this.shapes.clear();
    this.cache?.restart();
    return ok();
  }

  override async history(
    identifier: Identifier,
    limit: number | undefined,
  ): Promise<Result<readonly VariableVersion[]>> {
    const answer = await this.#call<{ versions: Variable__Output[] }>(
      "GetVariableHistory",
      // The wire's limit is an int32 where 0 means every retained version.
      {
        variable_identifier: identifier,
        limit: Math.min(limit ?? 0, 2 ** 31 - 1),
        prefer_binary: true,
      },
      identifier,
    );
    if ("error" in answer) return err(answer.error);
    const versions: VariableVersion[] = [];
    for (const variable of answer.response.versions) {
      // No shapes learnt from past records: only the current one describes the variable.
      const record = recordFromWire(undefined, variable);
      if (!record.ok) return record;
      versions.push(versionOf(record.value));
    }
    return ok(versions);
  }

  override async subscribe(
    pattern: string,
    subscriber: Subscriber,
  ): Promise<Result<SubscriptionId>> {
    if (!this.#link.open) return err(StateErrors.closed(NAME));
    const watch = new RemoteWatch({
      link: this.#link,
      sessionId: this.sessionId,
      pattern,
      subscriber,
      session: this,
    });
    const started = await watch.start();
    if (!started.ok) return started;
    const id = `remote_sub_${++nextSubscription}`;
    this.watches.set(id, watch);
    return ok(id);
  }

  override unsubscribe(subscription: SubscriptionId): Result<undefined> {
    this.watches.get(subscription)?.stop();
    this.watches.delete(subscription);
    return ok();
  }

  async close(): Promise<void> {
    this.cache?.stop();
    for (const watch of this.watches.values()) watch.stop();
    this.watches.clear();
    if (this.ownsSession) {
      // Best effort: an unreachable server keeps the session until its idle TTL ends it.
      await this.#call("CleanupSession", { force: true });
    }
    this.#link.release();
  }

  /**
   * A value refused here, on a write with an expectation: the server still answers first what
   * the contract answers before the value (`not_found`, `version_conflict`), so it is asked with
   * a value it must refuse.
   */
  async #refusedFirst(
    identifier: Identifier,
    expected: number,
    refusal: Result<never>,
  ): Promise<Result<never>> {
    const shape = this.shapes.get(identifier);
    const answer = await this.#call(
      "SetVariable",
      {
        variable_identifier: identifier,
        value: REJECTED_PLACEHOLDER(shape?.type ?? "string"),
        expected_version: expected,
      },
      identifier,
    );
    return "error" in answer && answersBeforeValue(answer.error) ? err(answer.error) : refusal;
  }

  /** The shape of a variable, from the cache or one GetVariable. */
  async #shape(identifier: Identifier): Promise<Result<VariableShape>> {
    const known = this.shapes.get(identifier);
    if (known !== undefined) return ok(known);
    const record = await this.#fetch(identifier);
    if (!record.ok) return record;
    const shape = this.shapes.get(identifier) ?? this.shapes.get(record.value.id);
    return shape === undefined ? err(StateErrors.notFound(identifier)) : ok(shape);
  }
}

/**
 * The contract as a gRPC client of one BridgeService in another process, or of several that
 * share one store (what a second Node process uses to share a session). Every call has a
 * deadline, retries included; a bridge that cannot be reached hands the call to the next one,
 * and when none can, it answers `unavailable` (never a hang). Writes retried carry their first
 * attempt's request id. Subscriptions run on WatchVariables streams that re-open after a
 * disconnect and resume after the last change heard where the store still holds the changes
 * since (otherwise they catch up from a snapshot). The contract's argument rules and closed
 * state are the backend core's.
 */
export class RemoteState extends BackendProvider<RemoteSession> {
  /** Every bridge this client may call, in the order it tries them. */
  readonly addresses: readonly string[];
  readonly #link: Link;

  constructor(options: RemoteStateOptions) {
    const link = new Link(options);
    // The server's store does the work, so a remote client delivers what BridgedState does.
    super({ name: NAME, capabilities: BRIDGE_CAPABILITIES, requiresBridge: true });
    this.#link = link;
    this.addresses = link.addresses;
  }

  /** The bridge calls go to now: `address`, or one of `addresses`. */
  get address(): string {
    return this.#link.currentAddress;
  }

  protected async open(request: OpenRequest): Promise<Result<RemoteSession>> {
    const { sessionId } = request;
    this.#link.acquire();
    const created = await this.#link.call(
      "InitializeSession",
      { session_id: sessionId, metadata: request.metadata },
      { sessionId },
    );
    let owns = true;
    if ("error" in created) {
      const exists = created.error.code === "already_exists";
      if (!exists || (!request.named && !created.ambiguous)) {
        this.#link.release();
        return err(created.error);
      }
      // Named, join the session another process created (its metadata stays the creator's).
      // Unnamed, its id is new: after an ambiguous failure it exists because we made it.
      owns = !request.named;
    }
    const session = new RemoteSession(sessionId, owns, this.#link);
    const pattern = this.#link.readCache;
    if (pattern !== undefined) session.cache = this.#openCache(session, pattern);
    if (request.existing !== undefined) {
      const imported = await session.import(request.existing);
      if (!imported.ok) {
        if (owns) await this.#link.call("CleanupSession", { session_id: sessionId, force: true });
        this.#link.release();
        return imported;
      }
    }
    return ok(session);
  }

  /** The read cache's counters for a session, or undefined without `readCache`. */
  cacheStats(state: RemoteSession): ReadCacheStats | undefined {
    return state.cache?.stats;
  }

  /** Resolves true once every identifier is served from the session's read cache. */
  waitUntilCached(
    state: RemoteSession,
    identifiers: readonly Identifier[],
    timeoutMs?: number,
  ): Promise<boolean> {
    return state.cache?.waitUntilCached(identifiers, timeoutMs) ?? Promise.resolve(false);
  }

  #openCache(session: RemoteSession, pattern: string): ReadCache {
    const link = this.#link;
    return new ReadCache({
      open: async (resumeAfter) => {
        const opened = await link.watch(
          {
            session_id: session.sessionId,
            pattern: pattern === "*" ? "" : pattern,
            prefer_binary: true,
            // The fallback when the bridge cannot resume: a snapshot, as on the first open.
            include_initial_values: true,
            resume_after: resumeAfter ?? "",
          },
          Date.now() + link.deadlineMs,
        );
        return "call" in opened ? opened.call : undefined;
      },
      versions: async (ids) => {
        const answer = await link.call<Buffer>(
          "GetVariables",
          { session_id: session.sessionId, variable_identifiers: ids },
          { sessionId: session.sessionId },
        );
        if ("error" in answer) return undefined;
        const variables = decodeGetVariables(answer.response).variables;
        return new Map(Object.values(variables).map((variable) => [variable.id, variable.version]));
      },
      decode: (variable) => {
        const record = recordFromWire(session, variable);
        return record.ok ? record.value : undefined;
      },
      maxDelayMs: link.maxResubscribeDelayMs,
    });
  }
}

/**
 * A value the server is certain to refuse (bytes that are not JSON), standing in for an item
 * that failed here: the batch still travels whole, so the server names every failing item.
 */
const REJECTED_PLACEHOLDER = (type: VariableType) => ({
  type_url: typeUrlFor(type),
  value: Buffer.from("\u0000", "utf8"),
});

function encodeForWire(
  type: VariableType,
  value: VariableValue,
): { any: { type_url: string; value: Buffer }; binary: Buffer } {
  if (wantsBinary(type, value)) {
    const { header, bytes } = encodeBinary(type, value);
    return {
      any: { type_url: typeUrlFor(type), value: Buffer.from(header, "utf8") },
      binary: bytes,
    };
  }
  return {
    any: { type_url: typeUrlFor(type), value: Buffer.from(encodeValueJson(type, value), "utf8") },
    binary: EMPTY,
  };
}

const EMPTY = Buffer.alloc(0);

/** A SetVariables answer, or what grpc-js would have answered for bytes it could not decode. */
function decodedAnswer(bytes: Buffer, identifiers: readonly string[]): Result<BatchSetResponse> {
  try {
    return ok(decodeBatchSetResponse(bytes, identifiers));
  } catch (error) {
    if (!(error instanceof MalformedMessage)) throw error;
    const details = `Response message parsing error: ${error.message}`;
    return err(
      fromServiceError(
        Object.assign(new Error(details), {
          code: grpc.status.INTERNAL,
          details,
          metadata: new grpc.Metadata(),
        }),
      ),
    );
  }
}

/** Versions the wire can carry as an expectation: int32, and not 0 (which means "none" there). */
function isWireVersion(version: number): boolean {
  return Number.isInteger(version) && version >= 1 && version <= 2 ** 31 - 1;
}

/** Errors the contract answers before it looks at a write's value. */
function answersBeforeValue(error: StateError): boolean {
  return error.code === "not_found" || error.code === "version_conflict";
}

function isStale(error: StateError | undefined): boolean {
  return error?.code === "validation_failed" && error.rule === "type";
}

function keepDecoded<T>(kept: Map<string, Decoded<T>>, key: string, bytes: Buffer, value: T): void {
  // A session reading ever new identifiers starts over rather than growing without bound.
  if (kept.size >= DECODED_ANSWERS && !kept.has(key)) kept.clear();
  // A copy: the answer may be a view of a larger network buffer.
  kept.set(key, { bytes: Buffer.from(bytes), value });
}

/** A record answered again without decoding: its shape is remembered as decoding would. */
function relearn(state: RemoteSession, record: VariableRecord): VariableRecord {
  const known = state.shapes.get(record.name);
  if (known?.id !== record.id || state.shapes.get(record.id) !== known) {
    remember(state, {
      id: record.id,
      name: record.name,
      type: record.type,
      constraints: record.constraints,
    });
  }
  return record;
}

/** The identifiers one variable answers to: as given, its id and its name. */
function keysOf(shape: VariableShape, identifier: Identifier): string[] {
  return identifier === shape.id || identifier === shape.name
    ? [shape.id, shape.name]
    : [identifier, shape.id, shape.name];
}

function remember(state: RemoteSession, shape: VariableShape): void {
  state.shapes.set(shape.id, shape);
  state.shapes.set(shape.name, shape);
}

function forget(state: RemoteSession, identifier: Identifier): void {
  const shape = state.shapes.get(identifier);
  state.shapes.delete(identifier);
  if (shape === undefined) return;
  // Only keys still meaning this variable: its name may already belong to a newer one.
  if (state.shapes.get(shape.id) === shape) state.shapes.delete(shape.id);
  if (state.shapes.get(shape.name) === shape) state.shapes.delete(shape.name);
}

function rememberWire(state: RemoteSession, variable: Variable__Output): void {
  if (!isVariableType(variable.type)) return;
  const constraints = decodeConstraintsJson(
    variable.type,
    variable.constraints_json,
    variable.name,
  );
  if (!constraints.ok) return;
  remember(state, {
    id: variable.id,
    name: variable.name,
    type: variable.type,
    constraints: constraints.value,
  });
}

/** A wire Variable as a contract record (values normalised and frozen by `checkValue`). */
function recordFromWire(
  state: RemoteSession | undefined,
  variable: Variable__Output | null,
): Result<VariableRecord> {
  if (variable === null)
    return err(StateErrors.unavailable("the bridge answered without a variable"));
  const type = variable.type;
  if (!isVariableType(type)) return err(StateErrors.unknownType(type, variable.name));
  const constraints = decodeConstraintsJson(type, variable.constraints_json, variable.name);
  if (!constraints.ok) return constraints;
  const value = valueFromWire(type, variable.value, variable.binary_value, variable.name);
  if (!value.ok) return value;
  if (state !== undefined) {
    remember(state, { id: variable.id, name: variable.name, type, constraints: constraints.value });
  }
  return ok(
    Object.freeze({
      id: variable.id,
      name: variable.name,
      type,
      value: value.value,
      constraints: constraints.value,
      metadata: Object.freeze({ ...variable.metadata }),
      version: variable.version,
      createdAt: fromTimestamp(variable.created_at ?? variable.last_updated_at),
      updatedAt: fromTimestamp(variable.last_updated_at),
      source: variable.source_name || (variable.source === "PYTHON" ? "python" : "elixir"),
    }),
  );
}

function valueFromWire(
  type: VariableType,
  any: Any__Output | null,
  binary: Buffer | undefined,
  name: string,
): Result<VariableValue> {
  const decoded = decodeWireValue(type, any, binary, name);
  if (!decoded.ok) return decoded;
  return checkValue(name, type, decoded.value);
}

const EVENT_KIND: Readonly<Record<string, VariableEvent["kind"]>> = {
  registered: "registered",
  value_change: "updated",
  deleted: "deleted",
};

/** What a watch last told its subscriber about one variable (to catch up after a reconnect). */
interface Seen {
  readonly record: VariableRecord;
  /** Told by the catch-up after a reconnect: the stream may still send this very change. */
  readonly fromCatchUp: boolean;
}

/**
 * One subscription: a WatchVariables stream, re-opened with backoff until stopped, on the next
 * bridge when its own went away. A re-opened stream asks to resume after the `cursor` of the
 * last change it delivered: when the bridge's store still holds every change since (a "resumed"
 * stream), those changes follow exactly, as if the stream had never broken. Otherwise (no cursor
 * yet, a store without a change feed, an old bridge) the stream sends initial values: the first
 * stream's give the baseline (nothing is told); a re-opened one's are compared with what the
 * subscriber last heard, and the differences are told as `deleted`, then `registered` and
 * `updated` events marked `resync`, so the subscriber converges on the server's state (the
 * intermediate versions made while disconnected are not replayed).
 */
class RemoteWatch {
  #stopped = false;
  #call: grpc.ClientReadableStream<VariableUpdate__Output> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #delayMs = 50;
  /** Whether a stream has subscribed: from then on every open is a re-open. */
  #baselined = false;
  /** Bridges the first open tried: each once, then `subscribe` answers. */
  #firstTries = 0;
  /** The `cursor` of the last change heard; undefined until a change carries one. */
  #cursor: string | undefined;
  readonly #seen = new Map<string, Seen>();
  /**
   * The pattern is also applied here: the server's `pattern` field is an extension (a Snakepit
   * server ignores it), and there `""` means "everything" where the contract's glob matches nothing.
   */
  readonly #matches: NameMatcher;
  /** While a re-opened stream sends its initial values: what it has sent, by id, in order. */
  #catchingUp: Map<string, DecodedUpdate> | undefined;

  constructor(
    private readonly options: {
      link: Link;
      sessionId: string;
      pattern: string;
      subscriber: Subscriber;
      session: RemoteSession;
    },
  ) {
    this.#matches = compilePattern(options.pattern);
  }

  /** Opens the stream; resolves once the server has subscribed (it sends headers then). */
  start(): Promise<Result<undefined>> {
    const { deadlineMs } = this.options.link;
    return new Promise((resolve) => {
      let settled = false;
      const settle = (result: Result<undefined>) => {
        if (settled) return;
        settled = true;
        clearTimeout(timeout);
        resolve(result);
      };
      const timeout = setTimeout(() => {
        settle(
          err(StateErrors.unavailable(`the bridge did not open a watch within ${deadlineMs} ms`)),
        );
        this.stop();
      }, deadlineMs);
      void this.#open(
        Date.now() + deadlineMs,
        () => settle(ok()),
        (error) => {
          settle(err(error));
          this.stop();
        },
      );
    });
  }

  async #open(
    deadline: number,
    onSubscribed: () => void,
    onFailedFirst: (error: StateError) => void,
  ): Promise<void> {
    const { link, sessionId, pattern } = this.options;
    const reopening = this.#baselined;
    const opened = await link.watch(
      {
        session_id: sessionId,
        pattern: pattern === "*" ? "" : pattern,
        prefer_binary: true,
        // The fallback when the bridge cannot resume: the snapshot catch-up.
        include_initial_values: true,
        resume_after: (reopening ? this.#cursor : undefined) ?? "",
      },
      deadline,
    );
    if ("call" in opened && this.#stopped) opened.call.cancel();
    if (this.#stopped) return;
    if ("closed" in opened) return onFailedFirst(StateErrors.closed(NAME));
    if ("unreached" in opened) {
      const failure = StateErrors.unavailable(opened.unreached);
      return this.#ended(failure, true, false, reopening, onSubscribed, onFailedFirst);
    }
    const call = opened.call;
    this.#call = call;
    let subscribed = false;
    let first = true;
    call.on("metadata", () => {
      subscribed = true;
      this.#baselined = true;
      this.#delayMs = 50;
      if (reopening) this.#catchingUp = new Map();
      onSubscribed();
    });
    call.on("data", (update: VariableUpdate__Output) => {
      if (this.#stopped) return;
      if (first) {
        first = false;
        if (update.update_type === "resumed") {
          // Exactly the changes after the cursor follow: nothing to catch up on.
          this.#catchingUp = undefined;
          return;
        }
        // A snapshot: changes from before it would be told twice if resumed from later.
        this.#cursor = undefined;
      }
      if (update.cursor) this.#cursor = update.cursor;
      if (update.update_type === "initial_value") this.#initial(update, reopening);
      else {
        this.#finishCatchUp();
        this.#deliver(update);
      }
    });
    let finished = false;
    const finish = (error: grpc.ServiceError | undefined) => {
      if (finished) return;
      finished = true;
      this.#catchingUp = undefined;
      if (this.#stopped) return;
      const mapped = error === undefined ? undefined : fromServiceError(error, { sessionId });
      const wentAway = error !== undefined && failoverKind(error) !== undefined;
      this.#ended(mapped, wentAway, subscribed, reopening, onSubscribed, onFailedFirst);
    };
    call.on("error", (error: grpc.ServiceError) => finish(error));
    call.on("end", () => finish(undefined));
  }

  /**
   * A stream ended or could not open. The first open tries every bridge once before `subscribe`
   * answers; a re-open refused for another reason than an outage (the session, auth) stops;
   * otherwise the watch re-opens with backoff, on the next bridge when its own went away.
   */
  #ended(
    failure: StateError | undefined,
    wentAway: boolean,
    subscribed: boolean,
    reopening: boolean,
    onSubscribed: () => void,
    onFailedFirst: (error: StateError) => void,
  ): void {
    const { link } = this.options;
    if (!subscribed && failure !== undefined) {
      if (!reopening) {
        if (wentAway && ++this.#firstTries < link.addresses.length) {
          void this.#open(Date.now() + link.deadlineMs, onSubscribed, onFailedFirst);
          return;
        }
        onFailedFirst(failure);
        return;
      }
      if (failure.code !== "unavailable") {
        onFailedFirst(failure);
        return;
      }
    }
    // The session is gone for good: nothing to re-open.
    if (failure?.code === "session_not_found") {
      this.stop();
      return;
    }
    this.#timer = setTimeout(() => {
      if (!this.#stopped)
        void this.#open(Date.now() + link.deadlineMs, onSubscribed, onFailedFirst);
    }, this.#delayMs);
    this.#delayMs = Math.min(this.#delayMs * 2, link.maxResubscribeDelayMs);
  }

  #initial(update: VariableUpdate__Output, reopening: boolean): void {
    const decoded = decodeUpdate(update);
    if (decoded === undefined || !this.#matches(decoded.record.name)) return;
    rememberWire(this.options.session, decoded.variable);
    if (reopening) this.#catchingUp?.set(decoded.record.id, decoded);
    else this.#seen.set(decoded.record.id, { record: decoded.record, fromCatchUp: false });
  }

  /**
   * After a re-opened stream's initial values: what it did not send was deleted meanwhile (told
   * first, so a name deleted and registered again ends up registered), then what is new or
   * changed. Nothing is told, or remembered as told, if the stream ends before this point.
   */
  #finishCatchUp(): void {
    const snapshot = this.#catchingUp;
    if (snapshot === undefined) return;
    this.#catchingUp = undefined;
    for (const [id, seen] of [...this.#seen]) {
      if (snapshot.has(id)) continue;
      this.#seen.delete(id);
      forget(this.options.session, id);
      this.#tell({
        ...eventOf("deleted", seen.record, seen.record.value, Date.now()),
        resync: true,
      });
    }
    for (const { record } of snapshot.values()) {
      const known = this.#seen.get(record.id);
      if (known !== undefined && known.record.version === record.version) continue;
      this.#seen.set(record.id, { record, fromCatchUp: true });
      const kind = known === undefined ? "registered" : "updated";
      this.#tell({ ...eventOf(kind, record, known?.record.value), resync: true });
    }
  }

  #deliver(update: VariableUpdate__Output): void {
    const kind = EVENT_KIND[update.update_type];
    if (kind === undefined) return;
    const decoded = decodeUpdate(update);
    if (decoded === undefined || !this.#matches(decoded.record.name)) return;
    const { variable, record } = decoded;
    const known = this.#seen.get(record.id);
    // The catch-up already told this exact change (it committed as the stream re-opened).
    if (known?.fromCatchUp && known.record.version === record.version && kind !== "deleted") {
      this.#seen.set(record.id, { record: known.record, fromCatchUp: false });
      return;
    }
    let previousValue: VariableValue | undefined;
    if (update.previous_value !== null && kind !== "registered") {
      const previous = valueFromWire(record.type, update.previous_value, undefined, record.name);
      if (previous.ok) previousValue = previous.value;
    }
    // The watcher fell behind and the server sent only the latest state: the changes between
    // were not told. A `resync` event, as after a catch-up, from the value last told here.
    const conflated = update.conflated && kind !== "registered";
    if (conflated) previousValue ??= known?.record.value;
    if (kind === "deleted") {
      this.#seen.delete(record.id);
      forget(this.options.session, record.id);
    } else {
      this.#seen.set(record.id, { record, fromCatchUp: false });
      rememberWire(this.options.session, variable);
    }
    const event = eventOf(kind, record, previousValue, fromTimestamp(update.timestamp));
    const source = update.update_source || record.source;
    // The feed position, for a subscriber that resumes elsewhere (`VariableEvent.cursor`).
    const cursor = update.cursor;
    if (source === event.source && cursor === "" && !conflated) this.#tell(event);
    else {
      this.#tell({
        ...event,
        source,
        ...(cursor === "" ? {} : { cursor }),
        ...(conflated ? { resync: true as const } : {}),
      });
    }
  }

  #tell(event: VariableEvent): void {
    try {
      this.options.subscriber(event);
    } catch (error) {
      console.error(
        `dspex: a subscriber threw on ${event.kind} of ${JSON.stringify(event.name)}:`,
        error,
      );
    }
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#call?.cancel();
  }
}

interface DecodedUpdate {
  readonly variable: Variable__Output;
  /** The committed record the update carries (the server sends its true constraints). */
  readonly record: VariableRecord;
}

function decodeUpdate(update: VariableUpdate__Output): DecodedUpdate | undefined {
  const variable = update.variable;
  if (variable === null) return undefined;
  const record = recordFromWire(undefined, variable);
  return record.ok ? { variable, record: record.value } : undefined;
}

/** `createRemoteState({ address })`: see `RemoteState`. */
export function createRemoteState(options: RemoteStateOptions): RemoteState {
  return new RemoteState(options);
}
