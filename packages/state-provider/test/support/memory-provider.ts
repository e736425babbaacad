import {
  BackendProvider,
  BackendSession,
  type MaybePromise,
  type OpenRequest,
  openTableSession,
  TABLE_CAPABILITIES,
  type TableSession,
} from "../../src/backend/index.js";
import type { ParsedExport } from "../../src/index.js";
import {
  err,
  type Identifier,
  type Metadata,
  type RegistrationInput,
  type Result,
  StateErrors,
  type Subscriber,
  type SubscriptionId,
  type VariableRecord,
} from "../../src/index.js";

/**
 * The backend the Context tests switch between: the core's in-memory sessions, with what the
 * tests observe added around them (open sessions by id, writes applied, a pause in every call
 * like a backend behind a socket). It passes the @dspex/provider-tests conformance suite (run
 * from outside this package: the suite depends on this package, so depending back would be a
 * cycle).
 */
export interface MemoryProviderOptions {
  readonly name: string;
  readonly requiresBridge: boolean;
  /** Yield to the event loop inside every call, like a backend behind a socket would. */
  readonly yieldEachCall?: boolean;
}

export class MemoryProvider extends BackendProvider<MemorySession> {
  /** Sessions initialised and not yet cleaned up, by id: lets tests check that nothing leaks. */
  readonly sessions = new Map<string, MemorySession>();
  /** Successful variable writes (set and each item of a batch): lets tests count applications. */
  writesApplied = 0;
  readonly #yield: boolean;

  constructor(options: MemoryProviderOptions) {
    super({
      name: options.name,
      capabilities: TABLE_CAPABILITIES,
      requiresBridge: options.requiresBridge,
    });
    this.#yield = options.yieldEachCall ?? false;
  }

  protected async open(request: OpenRequest): Promise<Result<MemorySession>> {
    await this.pause();
    if (this.sessions.has(request.sessionId)) {
      return err(
        StateErrors.invalidArgument(
          `session ${JSON.stringify(request.sessionId)} is already open in ${this.name}`,
        ),
      );
    }
    const opened = openTableSession(request);
    if (!opened.ok) return opened;
    const session = new MemorySession(this, opened.value);
    this.sessions.set(request.sessionId, session);
    return { ok: true, value: session };
  }

  /** @internal */
  pause(): Promise<void> {
    return this.#yield ? new Promise((resolve) => setImmediate(resolve)) : Promise.resolve();
  }
}

/** A TableSession seen through the test's counters and pauses. */
export class MemorySession extends BackendSession {
  readonly #provider: MemoryProvider;
  readonly #inner: TableSession;

  constructor(provider: MemoryProvider, inner: TableSession) {
    super(inner.sessionId);
    this.#provider = provider;
    this.#inner = inner;
  }

  /** The variables, for tests that look inside (subscriber counts). */
  get table() {
    return this.#inner.table;
  }

  #after<T>(call: () => T): Promise<T> {
    return this.#provider.pause().then(call);
  }

  record(identifier: Identifier) {
    return this.#after(() => this.#inner.record(identifier));
  }
  records(identifiers: readonly Identifier[]) {
    return this.#after(() => this.#inner.records(identifiers));
  }
  list() {
    return this.#after(() => this.#inner.list());
  }
  register(input: RegistrationInput) {
    return this.#after(() => this.#inner.register(input));
  }
  write(
    identifier: Identifier,
    value: unknown,
    metadata: Metadata,
    expectedVersion: number | undefined,
  ): Promise<Result<VariableRecord>> {
    return this.#after(() => {
      const written = this.#inner.write(identifier, value, metadata, expectedVersion);
      if (written.ok) this.#provider.writesApplied++;
      return written;
    });
  }
  writeMany(
    updates: readonly (readonly [Identifier, unknown])[],
    metadata: Metadata,
    expectedVersions: Readonly<Record<Identifier, number>> | undefined,
  ) {
    return this.#after(() => {
      const written = this.#inner.writeMany(updates, metadata, expectedVersions);
      if (written.ok) this.#provider.writesApplied += Object.keys(written.value).length;
      return written;
    });
  }
  remove(identifier: Identifier) {
    return this.#after(() => this.#inner.remove(identifier));
  }
  exportState() {
    return this.#after(() => this.#inner.exportState());
  }
  import(parsed: ParsedExport) {
    return this.#after(() => this.#inner.import(parsed));
  }
  override subscribe(
    pattern: string,
    subscriber: Subscriber,
  ): MaybePromise<Result<SubscriptionId>> {
    return this.#after(() => this.#inner.subscribe(pattern, subscriber));
  }
  override unsubscribe(subscription: SubscriptionId): MaybePromise<Result<undefined>> {
    return this.#after(() => this.#inner.unsubscribe(subscription));
  }
  override history(identifier: Identifier, limit: number | undefined) {
    return this.#after(() => this.#inner.history(identifier, limit));
  }
  async close(): Promise<void> {
    await this.#provider.pause();
    this.#provider.sessions.delete(this.sessionId);
    this.#inner.close();
  }
}

/** The pair the Context tests switch between. */
export function memoryPair(options: { readonly yieldEachCall?: boolean } = {}) {
  const local = new MemoryProvider({ name: "MemoryLocal", requiresBridge: false, ...options });
  const bridged = new MemoryProvider({ name: "MemoryBridged", requiresBridge: true, ...options });
  return { local, bridged };
}
