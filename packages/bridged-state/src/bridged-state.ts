import type { RegistrationInput } from "@dspex/state-provider";
import {
  type ExportedState,
  err,
  type Identifier,
  type Metadata,
  ok,
  type ParsedExport,
  type Result,
  StateErrors,
  type Subscriber,
  type SubscriptionId,
  type VariableRecord,
  type VariableVersion,
} from "@dspex/state-provider";
import {
  BackendProvider,
  BackendSession,
  type OpenRequest,
  versionOf,
} from "@dspex/state-provider/backend";
import { BRIDGE_CAPABILITIES } from "./capabilities.js";
import { BridgeServer, type BridgeServerOptions } from "./server/bridge-server.js";
import { SessionStore, type SessionStoreOptions } from "./store/session-store.js";

export type ServeOptions = Omit<BridgeServerOptions, "store" | "storeOptions">;

export interface BridgedStateOptions {
  /** Share a store (e.g. one a BridgeServer already serves). Default: a store of its own. */
  readonly store?: SessionStore;
  /** Options for the store created when `store` is not given. */
  readonly storeOptions?: SessionStoreOptions;
  /** Serve the store over gRPC, started by the first `init` (or by `serve()`). */
  readonly serve?: ServeOptions;
}

/**
 * The state handle of BridgedState: which session it holds and where Python workers reach it.
 * Every mutating call hands back this same handle (the session lives in the store, so another
 * client may change, or delete, it meanwhile: each call goes through the store).
 */
export class BridgedSession extends BackendSession {
  readonly #subscriptions = new Set<SubscriptionId>();

  constructor(
    sessionId: string,
    readonly provider: BridgedState,
    /** True when `init` created the session (cleanup deletes it); false when it joined one. */
    readonly ownsSession: boolean,
  ) {
    super(sessionId);
  }

  /** `host:port` of the BridgeServer serving this session, if the provider serves one. */
  get address(): string | undefined {
    return this.provider.server?.address;
  }

  get #store(): SessionStore {
    return this.provider.store;
  }

  record(identifier: Identifier): Result<VariableRecord> {
    return this.#store.get(this.sessionId, identifier);
  }

  records(identifiers: readonly Identifier[]): Result<ReadonlyMap<Identifier, VariableRecord>> {
    const got = this.#store.getMany(this.sessionId, identifiers);
    return got.ok ? ok(got.value.found) : got;
  }

  list(): Result<readonly VariableRecord[]> {
    return this.#store.list(this.sessionId);
  }

  register(input: RegistrationInput): Result<VariableRecord> {
    return this.#store.register(this.sessionId, input);
  }

  write(
    identifier: Identifier,
    value: unknown,
    metadata: Metadata,
    expectedVersion: number | undefined,
  ): Result<VariableRecord> {
    return this.#store.set(this.sessionId, identifier, value, metadata, expectedVersion);
  }

  writeMany(
    updates: readonly (readonly [Identifier, unknown])[],
    metadata: Metadata,
    expectedVersions: Readonly<Record<Identifier, number>> | undefined,
  ): Result<Readonly<Record<Identifier, number>>> {
    const pending = new Map(updates.map(([identifier, value]) => [identifier, { value }]));
    return this.#store.update(this.sessionId, pending, metadata, {
      atomic: true,
      ...(expectedVersions === undefined ? {} : { expectedVersions }),
    });
  }

  remove(identifier: Identifier): Result<VariableRecord> {
    return this.#store.delete(this.sessionId, identifier);
  }

  exportState(): Result<ExportedState> {
    return this.#store.export(this.sessionId);
  }

  import(parsed: ParsedExport): Result<undefined> {
    const imported = this.#store.importParsed(this.sessionId, parsed);
    return imported.ok ? ok() : imported;
  }

  override history(
    identifier: Identifier,
    limit: number | undefined,
  ): Result<readonly VariableVersion[]> {
    const records = this.#store.history(this.sessionId, identifier, limit);
    return records.ok ? ok(records.value.map(versionOf)) : records;
  }

  override subscribe(pattern: string, subscriber: Subscriber): Result<SubscriptionId> {
    const subscription = this.#store.subscribe(this.sessionId, pattern, subscriber);
    if (subscription.ok) this.#subscriptions.add(subscription.value);
    return subscription;
  }

  override unsubscribe(subscription: SubscriptionId): Result<undefined> {
    this.#store.unsubscribe(this.sessionId, subscription);
    this.#subscriptions.delete(subscription);
    return ok();
  }

  close(): void {
    for (const subscription of this.#subscriptions) {
      this.#store.unsubscribe(this.sessionId, subscription);
    }
    this.#subscriptions.clear();
    if (this.ownsSession) this.#store.deleteSession(this.sessionId);
  }
}

const NAME = "BridgedState";

/**
 * The contract over an in-process SessionStore that a BridgeService serves at the same time:
 * TypeScript reads and writes in-process, Python workers (or other Node processes through
 * RemoteState) share the same session over gRPC. The contract's rules are the backend core's
 * (`BackendProvider`); this class adds the store and the server.
 *
 * Sessions `init` creates are pinned (they never expire while held) and deleted by `cleanup`.
 * A session `init` joins keeps its creator's idle TTL (each call touches it) and outlives `cleanup`.
 */
export class BridgedState extends BackendProvider<BridgedSession> {
  readonly store: SessionStore;
  readonly #ownsStore: boolean;
  readonly #serveOptions: ServeOptions | undefined;
  #server: BridgeServer | undefined;
  #starting: Promise<BridgeServer> | undefined;
  /** After `close()` nothing starts again: a new server would keep the process alive. */
  #closed = false;

  constructor(options: BridgedStateOptions = {}) {
    super({ name: NAME, capabilities: BRIDGE_CAPABILITIES, requiresBridge: true });
    this.#ownsStore = options.store === undefined;
    this.store = options.store ?? new SessionStore(options.storeOptions);
    this.#serveOptions = options.serve;
  }

  /** A provider already serving its store: `const bridged = await BridgedState.serve({ port: 0 })`. */
  static async serve(
    serve: ServeOptions = {},
    options: Omit<BridgedStateOptions, "serve"> = {},
  ): Promise<BridgedState> {
    const provider = new BridgedState({ ...options, serve });
    await provider.serve();
    return provider;
  }

  /** The running BridgeServer, if any. */
  get server(): BridgeServer | undefined {
    return this.#server;
  }

  /** `host:port` for Python workers (`DSPEX_BRIDGE_ADDRESS`), once serving. */
  get address(): string | undefined {
    return this.#server?.address;
  }

  /** Starts serving the store over gRPC (idempotent; options default to the constructor's). */
  serve(options: ServeOptions | undefined = this.#serveOptions): Promise<BridgeServer> {
    if (this.#closed) {
      return Promise.reject(new Error(`${NAME} was closed: it can no longer serve`));
    }
    this.#starting ??= BridgeServer.start({ ...options, store: this.store }).then(
      (server) => {
        this.#server = server;
        return server;
      },
      (error: unknown) => {
        this.#starting = undefined;
        throw error;
      },
    );
    return this.#starting;
  }

  /**
   * Stops the server (graceful) and closes the store if this provider created it. Final:
   * afterwards `init` answers `closed` and `serve` rejects.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const server = this.#server ?? (await this.#starting?.catch(() => undefined));
    this.#server = undefined;
    this.#starting = undefined;
    await server?.close();
    if (this.#ownsStore) this.store.close();
  }

  protected async open(request: OpenRequest): Promise<Result<BridgedSession>> {
    if (this.#closed) return err(StateErrors.closed(NAME));
    if (this.#serveOptions !== undefined && this.#server === undefined) {
      try {
        await this.serve();
      } catch (error) {
        return err(
          StateErrors.unavailable(
            `${NAME} could not start its bridge server: ${(error as Error).message}`,
          ),
        );
      }
    }
    const { sessionId, metadata } = request;
    let owns = true;
    const created = this.store.createSession(sessionId, { pinned: true, metadata });
    if (!created.ok) {
      // Join a session a worker created (InitializeSession) rather than fail; its metadata
      // stays the creator's.
      if (created.error.code !== "already_exists" || !request.named) return created;
      owns = false;
    }
    if (request.existing !== undefined) {
      const imported = this.store.importParsed(sessionId, request.existing);
      if (!imported.ok) {
        if (owns) this.store.deleteSession(sessionId);
        return imported;
      }
    }
    return ok(new BridgedSession(sessionId, this, owns));
  }
}

/** `createBridgedState({ serve: { port: 0 } })`: see `BridgedState`. */
export function createBridgedState(options: BridgedStateOptions = {}): BridgedState {
  return new BridgedState(options);
}
