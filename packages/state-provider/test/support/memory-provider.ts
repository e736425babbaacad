import {
  type BatchWriteOptions,
  type BatchWritten,
  buildExport,
  type Capabilities,
  type Changed,
  CONTRACT_VERSION,
  checkExpectedVersion,
  checkMetadata,
  checkRegistration,
  checkValue,
  type ExportedState,
  err,
  eventOf,
  type Identifier,
  type InitOptions,
  type Metadata,
  ok,
  parseExport,
  type Registered,
  type RegisterOptions,
  type Result,
  type StateError,
  StateErrors,
  type StateProvider,
  type Subscriber,
  SubscriberSet,
  type SubscriptionId,
  sourceOf,
  type VariableId,
  type VariableRecord,
  type VariableType,
  type VariableValue,
  type WriteOptions,
  type Written,
  writtenRecord,
} from "../../src/index.js";

/**
 * A complete in-memory backend built only from the contract's helpers. The Context tests use two
 * of them (one labelled local, one bridged); it is also a worked example for backend authors:
 * validation through `checkRegistration` / `checkValue`, export and import through
 * `buildExport` / `parseExport`, events through `SubscriberSet`. It passes the
 * @dspex/provider-tests conformance suite (run from outside this package: the suite depends on
 * this package, so depending back on it would be a cycle).
 */
export interface MemorySession {
  readonly sessionId: string;
  readonly metadata: Metadata;
  /** Id → record; Map keeps insertion order, which is registration order. */
  readonly records: Map<VariableId, VariableRecord>;
  readonly idsByName: Map<string, VariableId>;
  readonly subscribers: SubscriberSet;
  closed: boolean;
}

export interface MemoryProviderOptions {
  readonly name: string;
  readonly requiresBridge: boolean;
  /** Prefix of generated ids, so tests can tell which backend created a variable. */
  readonly idPrefix?: string;
  /** Yield to the event loop inside every call, like a backend behind a socket would. */
  readonly yieldEachCall?: boolean;
}

const CAPABILITIES: Capabilities = Object.freeze({
  atomicUpdates: true,
  streaming: true,
  persistence: false,
  distribution: false,
  compareAndSet: true,
});

let sessionCounter = 0;
let idCounter = 0;

export class MemoryProvider implements StateProvider<MemorySession> {
  readonly name: string;
  readonly contractVersion = CONTRACT_VERSION;
  /** Sessions initialised and not yet cleaned up, by id: lets tests check that nothing leaks. */
  readonly sessions = new Map<string, MemorySession>();
  /** Successful variable writes (set and each item of a batch): lets tests count applications. */
  writesApplied = 0;
  readonly #requiresBridge: boolean;
  readonly #idPrefix: string;
  readonly #yield: boolean;

  constructor(options: MemoryProviderOptions) {
    this.name = options.name;
    this.#requiresBridge = options.requiresBridge;
    this.#idPrefix = options.idPrefix ?? "var";
    this.#yield = options.yieldEachCall ?? false;
  }

  requiresBridge(): boolean {
    return this.#requiresBridge;
  }

  capabilities(): Capabilities {
    return CAPABILITIES;
  }

  async init(options: InitOptions = {}): Promise<Result<MemorySession>> {
    await this.#pause();
    const sessionId = options.sessionId ?? `session_${++sessionCounter}`;
    if (this.sessions.has(sessionId)) {
      return err(
        StateErrors.invalidArgument(
          `session ${JSON.stringify(sessionId)} is already open in ${this.name}`,
        ),
      );
    }
    const metadata = checkMetadata(options.metadata);
    if (!metadata.ok) return metadata;
    const session: MemorySession = {
      sessionId,
      metadata: metadata.value,
      records: new Map(),
      idsByName: new Map(),
      subscribers: new SubscriberSet(),
      closed: false,
    };
    this.sessions.set(sessionId, session);
    if (options.existingState !== undefined) {
      const imported = await this.importState(session, options.existingState);
      if (!imported.ok) {
        await this.cleanup(session);
        return imported;
      }
    }
    return ok(session);
  }

  async registerVariable(
    state: MemorySession,
    name: string,
    type: VariableType,
    initialValue: unknown,
    options: RegisterOptions = {},
  ): Promise<Result<Registered<MemorySession>>> {
    await this.#pause();
    if (state.closed) return this.#closed();
    const checked = checkRegistration({
      name,
      type,
      value: initialValue,
      constraints: options.constraints,
      metadata: options.metadata,
      description: options.description,
    });
    if (!checked.ok) return checked;
    if (state.idsByName.has(checked.value.name))
      return err(StateErrors.alreadyExists(checked.value.name));
    const now = Date.now();
    const record: VariableRecord = Object.freeze({
      id: this.#newId(state),
      ...checked.value,
      version: 1,
      createdAt: now,
      updatedAt: now,
      source: sourceOf(checked.value.metadata),
    });
    this.#store(state, record);
    state.subscribers.emit(eventOf("registered", record, undefined, now));
    return ok({ state, id: record.id });
  }

  async getVariable(state: MemorySession, identifier: Identifier): Promise<Result<VariableValue>> {
    const record = await this.getVariableRecord(state, identifier);
    return record.ok ? ok(record.value.value) : record;
  }

  async getVariableRecord(
    state: MemorySession,
    identifier: Identifier,
  ): Promise<Result<VariableRecord>> {
    await this.#pause();
    if (state.closed) return this.#closed();
    const record = resolve(state, identifier);
    return record === undefined ? err(StateErrors.notFound(identifier)) : ok(record);
  }

  async setVariable(
    state: MemorySession,
    identifier: Identifier,
    value: unknown,
    metadata?: Metadata,
    options: WriteOptions = {},
  ): Promise<Result<Written<MemorySession>>> {
    await this.#pause();
    if (state.closed) return this.#closed();
    const checked = prepareWrite(state, identifier, value, metadata, options.expectedVersion);
    if (!checked.ok) return checked;
    const record = this.#commit(state, checked.value);
    return ok({ state, version: record.version });
  }

  async listVariables(state: MemorySession): Promise<Result<readonly VariableRecord[]>> {
    await this.#pause();
    if (state.closed) return this.#closed();
    return ok([...state.records.values()]);
  }

  async getVariables(
    state: MemorySession,
    identifiers: readonly Identifier[],
  ): Promise<Result<Readonly<Record<Identifier, VariableValue>>>> {
    await this.#pause();
    if (state.closed) return this.#closed();
    const found: [Identifier, VariableValue][] = [];
    for (const identifier of identifiers) {
      const record = resolve(state, identifier);
      if (record !== undefined) found.push([identifier, record.value]);
    }
    return ok(Object.fromEntries(found));
  }

  /** Atomic: every update is checked before any is applied. */
  async updateVariables(
    state: MemorySession,
    updates: Readonly<Record<Identifier, unknown>>,
    metadata?: Metadata,
    options: BatchWriteOptions = {},
  ): Promise<Result<BatchWritten<MemorySession>>> {
    await this.#pause();
    if (state.closed) return this.#closed();
    const expectedVersions = options.expectedVersions;
    // A malformed expectation is a wrong argument: the whole call fails before anything else.
    if (expectedVersions !== undefined) {
      for (const identifier of Object.keys(updates)) {
        if (!Object.hasOwn(expectedVersions, identifier)) continue;
        const argument = checkExpectedVersion(expectedVersions[identifier], identifier);
        if (!argument.ok) return argument;
      }
    }
    const prepared: PreparedWrite[] = [];
    const failed: [Identifier, StateError][] = [];
    // A variable named twice (by id and by name): the later entry sees the earlier one's write.
    const pending = new Map<VariableId, number>();
    for (const [identifier, value] of Object.entries(updates)) {
      const checked = prepareWrite(
        state,
        identifier,
        value,
        metadata,
        expectedVersions !== undefined && Object.hasOwn(expectedVersions, identifier)
          ? expectedVersions[identifier]
          : undefined,
        pending,
      );
      if (!checked.ok) {
        failed.push([identifier, checked.error]);
        continue;
      }
      const { current } = checked.value;
      pending.set(current.id, (pending.get(current.id) ?? current.version) + 1);
      prepared.push(checked.value);
    }
    // Object.fromEntries, not assignment: an identifier such as `__proto__` stays an own key.
    if (failed.length > 0) return err(StateErrors.partialFailure(Object.fromEntries(failed), []));
    const versions: [Identifier, number][] = [];
    for (const write of prepared)
      versions.push([write.identifier, this.#commit(state, write).version]);
    return ok({ state, versions: Object.fromEntries(versions) });
  }

  async deleteVariable(
    state: MemorySession,
    identifier: Identifier,
  ): Promise<Result<Changed<MemorySession>>> {
    await this.#pause();
    if (state.closed) return this.#closed();
    const record = resolve(state, identifier);
    if (record === undefined) return err(StateErrors.notFound(identifier));
    state.records.delete(record.id);
    state.idsByName.delete(record.name);
    state.subscribers.emit(eventOf("deleted", record, record.value, Date.now()));
    return ok({ state });
  }

  async exportState(state: MemorySession): Promise<Result<ExportedState>> {
    await this.#pause();
    if (state.closed) return this.#closed();
    return ok(buildExport(state.sessionId, state.records.values(), state.metadata));
  }

  /**
   * Merges a document, all or nothing: every conflict is found before anything is stored. A name
   * conflicts only when its owner stays after the import (a variable the import does not replace).
   */
  async importState(
    state: MemorySession,
    exported: unknown,
  ): Promise<Result<Changed<MemorySession>>> {
    await this.#pause();
    if (state.closed) return this.#closed();
    const parsed = parseExport(exported);
    if (!parsed.ok) return parsed;
    const records = parsed.value.records;
    const replaced = new Set(records.filter((r) => state.records.has(r.id)).map((r) => r.id));
    for (const record of records) {
      const owner = state.idsByName.get(record.name);
      if (owner !== undefined && owner !== record.id && !replaced.has(owner))
        return err(StateErrors.alreadyExists(record.name));
    }
    // Free the old names of replaced variables first: the import may swap names between them.
    for (const id of replaced) {
      const previous = state.records.get(id)!;
      if (state.idsByName.get(previous.name) === id) state.idsByName.delete(previous.name);
    }
    for (const record of records) {
      const previous = state.records.get(record.id);
      this.#store(state, record);
      const kind = previous === undefined ? "registered" : "updated";
      state.subscribers.emit(eventOf(kind, record, previous?.value, Date.now()));
    }
    return ok({ state });
  }

  async subscribe(
    state: MemorySession,
    pattern: string,
    subscriber: Subscriber,
  ): Promise<Result<SubscriptionId>> {
    await this.#pause();
    if (state.closed) return this.#closed();
    return ok(state.subscribers.add(pattern, subscriber));
  }

  async unsubscribe(
    state: MemorySession,
    subscription: SubscriptionId,
  ): Promise<Result<undefined>> {
    await this.#pause();
    if (state.closed) return this.#closed();
    state.subscribers.remove(subscription);
    return ok();
  }

  async cleanup(state: MemorySession): Promise<void> {
    state.closed = true;
    state.subscribers.clear();
    state.records.clear();
    state.idsByName.clear();
    this.sessions.delete(state.sessionId);
  }

  #closed(): Result<never> {
    return err(StateErrors.closed(this.name));
  }

  /**
   * Ids must be unique beyond one session: an export from another session (or backend) is
   * merged by id, so a per-session counter would make unrelated variables replace each other.
   */
  #newId(state: MemorySession): VariableId {
    let id: VariableId;
    // Ids resolve before names: an id equal to an existing name would hide that variable.
    do id = `${this.#idPrefix}_${++idCounter}`;
    while (state.records.has(id) || state.idsByName.has(id));
    return id;
  }

  #store(state: MemorySession, record: VariableRecord): void {
    state.records.set(record.id, record);
    state.idsByName.set(record.name, record.id);
  }

  #commit(state: MemorySession, write: PreparedWrite): VariableRecord {
    // The stored record, which an earlier entry of the same batch may have replaced.
    const current = state.records.get(write.current.id) ?? write.current;
    const now = Date.now();
    const record = writtenRecord(current, write.value, write.metadata, now);
    state.records.set(record.id, record);
    this.writesApplied++;
    state.subscribers.emit(eventOf("updated", record, current.value, now));
    return record;
  }

  async #pause(): Promise<void> {
    if (this.#yield) await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

interface PreparedWrite {
  readonly identifier: Identifier;
  readonly current: VariableRecord;
  readonly value: VariableValue;
  readonly metadata: Metadata;
}

/** Identifiers resolve as id first, then name. */
function resolve(state: MemorySession, identifier: Identifier): VariableRecord | undefined {
  const byId = state.records.get(identifier);
  if (byId !== undefined) return byId;
  const id = state.idsByName.get(identifier);
  return id === undefined ? undefined : state.records.get(id);
}

function prepareWrite(
  state: MemorySession,
  identifier: Identifier,
  value: unknown,
  metadata: Metadata | undefined,
  expectedVersion: number | undefined,
  pending?: ReadonlyMap<VariableId, number>,
): Result<PreparedWrite> {
  const current = resolve(state, identifier);
  if (current === undefined) return err(StateErrors.notFound(identifier));
  if (expectedVersion !== undefined) {
    const argument = checkExpectedVersion(expectedVersion, identifier);
    if (!argument.ok) return argument;
  }
  const version = pending?.get(current.id) ?? current.version;
  if (expectedVersion !== undefined && expectedVersion !== version) {
    return err(StateErrors.versionConflict(identifier, expectedVersion, version));
  }
  const checkedValue = checkValue(current.name, current.type, value, current.constraints);
  if (!checkedValue.ok) return checkedValue;
  const checkedMetadata = checkMetadata(metadata, current.name);
  if (!checkedMetadata.ok) return checkedMetadata;
  return ok({ identifier, current, value: checkedValue.value, metadata: checkedMetadata.value });
}

/** The pair the Context tests switch between. */
export function memoryPair(options: { readonly yieldEachCall?: boolean } = {}) {
  const local = new MemoryProvider({
    name: "MemoryLocal",
    requiresBridge: false,
    idPrefix: "loc",
    ...options,
  });
  const bridged = new MemoryProvider({
    name: "MemoryBridged",
    requiresBridge: true,
    idPrefix: "brg",
    ...options,
  });
  return { local, bridged };
}
