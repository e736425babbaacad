import {
  type BatchWriteOptions,
  type BatchWritten,
  type Capabilities,
  type Changed,
  CONTRACT_VERSION,
  type ExportedState,
  err,
  type Identifier,
  type InitOptions,
  type Metadata,
  ok,
  type Registered,
  type RegisterOptions,
  type Result,
  StateErrors,
  type StateProvider,
  type Subscriber,
  type SubscriptionId,
  type VariableRecord,
  type VariableType,
  type VariableValue,
  type WriteOptions,
  type Written,
} from "@dspex/state-provider";
import { BRIDGE_CAPABILITIES } from "./capabilities.js";
import { define } from "./own-keys.js";
import { BridgeServer, type BridgeServerOptions } from "./server/bridge-server.js";
import {
  type PendingValue,
  SessionStore,
  type SessionStoreOptions,
} from "./store/session-store.js";

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
 * Every mutating call hands back this same handle (the session lives in the store).
 */
export class BridgedSession {
  #closed = false;
  readonly #subscriptions = new Set<SubscriptionId>();

  constructor(
    readonly sessionId: string,
    readonly provider: BridgedState,
    /** True when `init` created the session (cleanup deletes it); false when it joined one. */
    readonly ownsSession: boolean,
  ) {}

  /** `host:port` of the BridgeServer serving this session, if the provider serves one. */
  get address(): string | undefined {
    return this.provider.server?.address;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** @internal */
  markClosed(): ReadonlySet<SubscriptionId> {
    this.#closed = true;
    return this.#subscriptions;
  }

  /** @internal */
  get subscriptions(): Set<SubscriptionId> {
    return this.#subscriptions;
  }
}

const NAME = "BridgedState";

/**
 * The contract over an in-process SessionStore that a BridgeService serves at the same time:
 * TypeScript reads and writes in-process, Python workers (or other Node processes through
 * RemoteState) share the same session over gRPC.
 *
 * Sessions `init` creates are pinned (they never expire while held) and deleted by `cleanup`.
 * A session `init` joins keeps its creator's idle TTL (each call touches it) and outlives `cleanup`.
 */
export class BridgedState implements StateProvider<BridgedSession> {
  readonly name = NAME;
  readonly contractVersion = CONTRACT_VERSION;
  readonly store: SessionStore;
  readonly #ownsStore: boolean;
  readonly #serveOptions: ServeOptions | undefined;
  #server: BridgeServer | undefined;
  #starting: Promise<BridgeServer> | undefined;
  /** After `close()` nothing starts again: a new server would keep the process alive. */
  #closed = false;

  constructor(options: BridgedStateOptions = {}) {
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

  requiresBridge(): boolean {
    return true;
  }

  capabilities(): Capabilities {
    return BRIDGE_CAPABILITIES;
  }

  async init(options: InitOptions = {}): Promise<Result<BridgedSession>> {
    if (this.#closed) return closed();
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
    let owns = true;
    const created = this.store.createSession(options.sessionId, {
      pinned: true,
      ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
    });
    let sessionId: string;
    if (created.ok) sessionId = created.value.id;
    else if (created.error.code === "already_exists" && options.sessionId !== undefined) {
      // Join a session a worker created (InitializeSession) rather than fail.
      owns = false;
      sessionId = options.sessionId;
    } else return created;
    if (options.existingState !== undefined) {
      const imported = this.store.import(sessionId, options.existingState);
      if (!imported.ok) {
        if (owns) this.store.deleteSession(sessionId);
        return imported;
      }
    }
    return ok(new BridgedSession(sessionId, this, owns));
  }

  async registerVariable(
    state: BridgedSession,
    name: string,
    type: VariableType,
    initialValue: unknown,
    options: RegisterOptions = {},
  ): Promise<Result<Registered<BridgedSession>>> {
    if (state.closed) return closed();
    const registered = this.store.register(state.sessionId, {
      name,
      type,
      value: initialValue,
      constraints: options.constraints,
      metadata: options.metadata,
      description: options.description,
    });
    return registered.ok ? ok({ state, id: registered.value.id }) : registered;
  }

  async getVariable(state: BridgedSession, identifier: Identifier): Promise<Result<VariableValue>> {
    if (state.closed) return closed();
    const record = this.store.get(state.sessionId, identifier);
    return record.ok ? ok(record.value.value) : record;
  }

  async getVariableRecord(
    state: BridgedSession,
    identifier: Identifier,
  ): Promise<Result<VariableRecord>> {
    if (state.closed) return closed();
    return this.store.get(state.sessionId, identifier);
  }

  async setVariable(
    state: BridgedSession,
    identifier: Identifier,
    value: unknown,
    metadata?: Metadata,
    options: WriteOptions = {},
  ): Promise<Result<Written<BridgedSession>>> {
    if (state.closed) return closed();
    const written = this.store.set(
      state.sessionId,
      identifier,
      value,
      metadata,
      options.expectedVersion,
    );
    return written.ok ? ok({ state, version: written.value.version }) : written;
  }

  async listVariables(state: BridgedSession): Promise<Result<readonly VariableRecord[]>> {
    if (state.closed) return closed();
    return this.store.list(state.sessionId);
  }

  async getVariables(
    state: BridgedSession,
    identifiers: readonly Identifier[],
  ): Promise<Result<Readonly<Record<Identifier, VariableValue>>>> {
    if (state.closed) return closed();
    if (!Array.isArray(identifiers)) {
      return err(StateErrors.invalidArgument("getVariables expects an array of identifiers"));
    }
    const got = this.store.getMany(state.sessionId, identifiers);
    if (!got.ok) return got;
    const values: Record<Identifier, VariableValue> = {};
    for (const [identifier, record] of got.value.found) define(values, identifier, record.value);
    return ok(values);
  }

  async updateVariables(
    state: BridgedSession,
    updates: Readonly<Record<Identifier, unknown>>,
    metadata?: Metadata,
    options: BatchWriteOptions = {},
  ): Promise<Result<BatchWritten<BridgedSession>>> {
    if (state.closed) return closed();
    if (typeof updates !== "object" || updates === null || Array.isArray(updates)) {
      return err(StateErrors.invalidArgument("updates must be an object of identifier to value"));
    }
    const expectedVersions = options.expectedVersions;
    if (
      expectedVersions !== undefined &&
      (typeof expectedVersions !== "object" ||
        expectedVersions === null ||
        Array.isArray(expectedVersions))
    ) {
      return err(
        StateErrors.invalidArgument("expectedVersions must be an object of identifier to version"),
      );
    }
    const pending = new Map<Identifier, PendingValue>();
    for (const [identifier, value] of Object.entries(updates)) pending.set(identifier, { value });
    const written = this.store.update(state.sessionId, pending, metadata, {
      atomic: true,
      ...(expectedVersions === undefined ? {} : { expectedVersions }),
    });
    if (!written.ok) return written;
    const versions: Record<Identifier, number> = {};
    for (const [identifier, record] of written.value) define(versions, identifier, record.version);
    return ok({ state, versions });
  }

  async deleteVariable(
    state: BridgedSession,
    identifier: Identifier,
  ): Promise<Result<Changed<BridgedSession>>> {
    if (state.closed) return closed();
    const deleted = this.store.delete(state.sessionId, identifier);
    return deleted.ok ? ok({ state }) : deleted;
  }

  async exportState(state: BridgedSession): Promise<Result<ExportedState>> {
    if (state.closed) return closed();
    return this.store.export(state.sessionId);
  }

  async importState(
    state: BridgedSession,
    exported: unknown,
  ): Promise<Result<Changed<BridgedSession>>> {
    if (state.closed) return closed();
    const imported = this.store.import(state.sessionId, exported);
    return imported.ok ? ok({ state }) : imported;
  }

  async subscribe(
    state: BridgedSession,
    pattern: string,
    subscriber: Subscriber,
  ): Promise<Result<SubscriptionId>> {
    if (state.closed) return closed();
    if (typeof pattern !== "string") {
      return err(StateErrors.invalidArgument(`pattern must be a string, got ${typeof pattern}`));
    }
    if (typeof subscriber !== "function") {
      return err(
        StateErrors.invalidArgument(`subscriber must be a function, got ${typeof subscriber}`),
      );
    }
    const subscription = this.store.subscribe(state.sessionId, pattern, subscriber);
    if (subscription.ok) state.subscriptions.add(subscription.value);
    return subscription;
  }

  async unsubscribe(
    state: BridgedSession,
    subscription: SubscriptionId,
  ): Promise<Result<undefined>> {
    if (state.closed) return closed();
    this.store.unsubscribe(state.sessionId, subscription);
    state.subscriptions.delete(subscription);
    return ok();
  }

  async cleanup(state: BridgedSession): Promise<void> {
    if (state.closed) return;
    for (const subscription of state.markClosed())
      this.store.unsubscribe(state.sessionId, subscription);
    state.subscriptions.clear();
    if (state.ownsSession) this.store.deleteSession(state.sessionId);
  }
}

function closed<T>(): Result<T> {
  return err(StateErrors.closed(NAME));
}

/** `createBridgedState({ serve: { port: 0 } })`: see `BridgedState`. */
export function createBridgedState(options: BridgedStateOptions = {}): BridgedState {
  return new BridgedState(options);
}
