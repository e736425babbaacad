import type {
  BatchWriteOptions,
  BatchWritten,
  Capabilities,
  Changed,
  DeleteOptions,
  HistoryOptions,
  Identifier,
  InitOptions,
  Metadata,
  Registered,
  RegisterOptions,
  StateProvider,
  Subscriber,
  SubscriptionId,
  VariableId,
  VariableRecord,
  VariableVersion,
  WriteOptions,
  Written,
} from "../contract.js";
import { CONTRACT_VERSION } from "../contract.js";
import { describeValue, StateErrors } from "../errors.js";
import { type ExportedState, type ParsedExport, parseExport } from "../export-format.js";
import { HISTORY_CALLBACK, OPTIONAL_CALLBACKS, REQUIRED_CALLBACKS } from "../provider.js";
import { err, ok, type Result } from "../result.js";
import {
  checkExpectedVersion,
  checkMetadata,
  checkRequestId,
  EMPTY_METADATA,
  type RegistrationInput,
} from "../types/validation.js";
import type { VariableType, VariableValue } from "../types/variable-types.js";
import { checkStoredMetadata, DEFAULT_LIMITS, type StoreLimits } from "./limits.js";
import { define } from "./own-keys.js";
import { checkWriteMetadata, initialSessionMetadata } from "./plans.js";

/*
 * The contract around a backend's storage, written once: the closed state, every caller-argument
 * rule, the capability gates and the shapes of the answers. A backend author writes a
 * `BackendSession` (storage for one open session) and an `open` that makes one; `defineProvider`
 * turns them into a `StateProvider` that answers every caller mistake the same way as ours.
 */

export type MaybePromise<T> = T | Promise<T>;

/** Ends a session's life; only `BackendProvider.cleanup` calls it. */
let markClosed: (session: BackendSession) => boolean;

/**
 * One open session of a backend: its storage. The provider hands it to callers as their opaque
 * state, so a subclass may add public fields (BridgedState's `address`). Every method receives
 * arguments already checked by the core and may answer synchronously or with a promise. Apply
 * changes through the plans (`planWrite`, `planBatch`, ...) so the rules stay in one place.
 */
export abstract class BackendSession {
  #closed = false;

  constructor(readonly sessionId: string) {}

  /** True once `cleanup` ran: every call answers `closed`. */
  get closed(): boolean {
    return this.#closed;
  }

  static {
    markClosed = (session) => {
      if (session.#closed) return false;
      session.#closed = true;
      return true;
    };
  }

  /** `not_found` when nothing has this id or name. */
  abstract record(identifier: Identifier): MaybePromise<Result<VariableRecord>>;
  /** The found records keyed by identifier as given; missing ones left out. */
  abstract records(
    identifiers: readonly Identifier[],
  ): MaybePromise<Result<ReadonlyMap<Identifier, VariableRecord>>>;
  /** Every record, in registration order. */
  abstract list(): MaybePromise<Result<readonly VariableRecord[]>>;
  /**
   * Raw registration input: `planRegistration` checks it. Answers the new id (a record will do).
   * `requestId` (checked) is for backends that keep recent keys; others ignore it.
   */
  abstract register(
    input: RegistrationInput,
    requestId?: string,
  ): MaybePromise<Result<{ readonly id: VariableId }>>;
  /**
   * `metadata` is checked; `expectedVersion` is a valid version or undefined. Answers the new
   * version (the written record will do).
   */
  abstract write(
    identifier: Identifier,
    value: unknown,
    metadata: Metadata,
    expectedVersion: number | undefined,
    requestId?: string,
  ): MaybePromise<Result<Versioned>>;
  /**
   * Atomic where the provider claims `atomicUpdates`; versions checked as for `write`. Answers
   * identifier (as given) → new version, as own keys (`batchOutcome` builds it from a plan).
   */
  abstract writeMany(
    updates: readonly (readonly [Identifier, unknown])[],
    metadata: Metadata,
    expectedVersions: Readonly<Record<Identifier, number>> | undefined,
    requestId?: string,
  ): MaybePromise<Result<Readonly<Record<Identifier, number>>>>;
  /** Answers anything on success (the removed record, say); only the outcome counts. */
  abstract remove(identifier: Identifier, requestId?: string): MaybePromise<Result<unknown>>;
  abstract exportState(): MaybePromise<Result<ExportedState>>;
  /** A document already validated by `parseExport`: merge it, all or nothing (`planImport`). */
  abstract import(parsed: ParsedExport): MaybePromise<Result<undefined>>;
  /** Releases what the session holds. Called once, after the session was marked closed. */
  abstract close(): MaybePromise<void>;

  /** The current value; override for a faster path than the whole record. */
  value(identifier: Identifier): MaybePromise<Result<VariableValue>> {
    const record = this.record(identifier);
    return record instanceof Promise ? record.then(valueOfRecord) : valueOfRecord(record);
  }

  /** Where the provider claims `streaming`: call `subscriber` after each matching commit. */
  subscribe(_pattern: string, _subscriber: Subscriber): MaybePromise<Result<SubscriptionId>> {
    return err(StateErrors.unsupported("subscribe", this.constructor.name));
  }

  /** Idempotent: an unknown subscription is not an error. */
  unsubscribe(_subscription: SubscriptionId): MaybePromise<Result<undefined>> {
    return ok();
  }

  /**
   * Where the provider claims `history`: the retained versions, newest first, at most `limit`
   * (a positive integer, or undefined for all); `not_found` for an unknown identifier.
   */
  history(
    _identifier: Identifier,
    _limit: number | undefined,
  ): MaybePromise<Result<readonly VariableVersion[]>> {
    return err(StateErrors.unsupported("getVariableHistory", this.constructor.name));
  }
}

/** What a write answers the core: the version it left. */
export interface Versioned {
  readonly version: number;
}

function valueOfRecord(record: Result<VariableRecord>): Result<VariableValue> {
  return record.ok ? ok(record.value.value) : record;
}

/** What `init` hands `open`, decided by the contract's rules. */
export interface OpenRequest {
  /** The caller's session id, else the document's, else a new one. */
  readonly sessionId: string;
  /** True when the caller (or the document) named the session: a backend may join it. */
  readonly named: boolean;
  /** The session's metadata: the document's with the caller's merged over it. */
  readonly metadata: Metadata;
  /**
   * Records to import before the session is handed out (already validated), with their
   * metadata already in `metadata`; `undefined` without `existingState`.
   */
  readonly existing: ParsedExport | undefined;
}

export interface BackendOptions {
  /** Short name used in messages and reports (e.g. `LocalState`). */
  readonly name: string;
  readonly capabilities: Capabilities;
  readonly requiresBridge: boolean;
  /** Limits the core checks on session metadata at `init` (the storage checks the rest). */
  readonly limits?: StoreLimits;
  /** Prefix of generated session ids. Default `session`. */
  readonly sessionIdPrefix?: string;
}

export interface ProviderDefinition<H extends BackendSession> extends BackendOptions {
  /** Opens (creates, or joins) a session and imports `existing` into it. */
  open(request: OpenRequest): MaybePromise<Result<H>>;
}

const toPromise = <T>(value: MaybePromise<T>): Promise<T> =>
  value instanceof Promise ? value : Promise.resolve(value);

/** `shape(value)` as a promise; a synchronous storage answer costs no extra microtask. */
function settle<T, U>(value: MaybePromise<T>, shape: (value: T) => U): Promise<U> {
  return value instanceof Promise ? value.then(shape) : Promise.resolve(shape(value));
}

/** Optional arguments: absent or null means none; anything but a plain object is a mistake. */
const NO_OPTIONS = Object.freeze(ok(Object.freeze({})));

function optionsObject<T extends object>(options: unknown, call: string): Result<Partial<T>> {
  if (options === undefined || options === null) return NO_OPTIONS;
  if (typeof options !== "object" || Array.isArray(options)) {
    return err(
      StateErrors.invalidArgument(
        `${call} expects an options object, got ${describeValue(options)}`,
      ),
    );
  }
  return ok(options as Partial<T>);
}

function badIdentifier(call: string, identifier: unknown): Result<never> {
  return err(
    StateErrors.invalidArgument(
      `${call} expects an identifier (a variable's name or id) as a string, got ${describeValue(identifier)}`,
    ),
  );
}

/** A caller-given session id: a non-empty string of well-formed Unicode (no lone surrogates). */
export function checkSessionId(sessionId: unknown): Result<string> {
  if (typeof sessionId !== "string" || sessionId === "") {
    return err(
      StateErrors.invalidArgument(
        `session id must be a non-empty string, got ${describeValue(sessionId)}`,
      ),
    );
  }
  if (LONE_SURROGATE.test(sessionId)) {
    return err(
      StateErrors.invalidArgument(
        `session id ${describeValue(sessionId)} is not well-formed Unicode (it holds a lone surrogate)`,
      ),
    );
  }
  return ok(sessionId);
}

// With the u flag, a surrogate range matches only surrogates that are not part of a pair.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** A pattern for `subscribe`: a non-empty glob. The empty pattern matches no name, so it is a mistake. */
export function checkSubscription(pattern: unknown, subscriber: unknown): Result<string> {
  if (typeof pattern !== "string" || pattern === "") {
    return err(
      StateErrors.invalidArgument(
        `subscribe expects a non-empty glob pattern (use "*" for every variable), got ${describeValue(pattern)}`,
      ),
    );
  }
  if (typeof subscriber !== "function") {
    return err(
      StateErrors.invalidArgument(
        `subscribe expects a function as subscriber, got ${describeValue(subscriber)}`,
      ),
    );
  }
  return ok(pattern);
}

/**
 * A `StateProvider` around a backend's `open` and its `BackendSession`s, holding every contract
 * rule: extend it (and implement `open`) for a class-based backend, or call `defineProvider`.
 */
export abstract class BackendProvider<H extends BackendSession> implements StateProvider<H> {
  readonly name: string;
  readonly contractVersion = CONTRACT_VERSION;
  readonly #capabilities: Capabilities;
  readonly #requiresBridge: boolean;
  readonly #limits: StoreLimits;
  readonly #prefix: string;
  readonly #closed: Promise<Result<never>>;

  constructor(options: BackendOptions) {
    this.name = options.name;
    this.#capabilities = Object.freeze({ ...options.capabilities });
    this.#requiresBridge = options.requiresBridge;
    this.#limits = options.limits ?? DEFAULT_LIMITS;
    this.#prefix = options.sessionIdPrefix ?? "session";
    this.#closed = Promise.resolve(err(StateErrors.closed(this.name)));
  }

  /** Opens (creates, or joins) a session and imports `request.existing` into it. */
  protected abstract open(request: OpenRequest): MaybePromise<Result<H>>;

  requiresBridge(): boolean {
    return this.#requiresBridge;
  }

  capabilities(): Capabilities {
    return this.#capabilities;
  }

  async init(options?: InitOptions | null): Promise<Result<H>> {
    const given = optionsObject<InitOptions>(options, "init");
    if (!given.ok) return given;
    const { sessionId, existingState, metadata } = given.value;
    if (sessionId !== undefined) {
      const checked = checkSessionId(sessionId);
      if (!checked.ok) return checked;
    }
    const checkedMetadata = checkMetadata(metadata);
    if (!checkedMetadata.ok) return checkedMetadata;
    let existing: ParsedExport | undefined;
    if (existingState !== undefined) {
      const parsed = parseExport(existingState);
      if (!parsed.ok) return parsed;
      existing = parsed.value;
    }
    const sessionMetadata = initialSessionMetadata(existing, checkedMetadata.value);
    const tooLarge = checkStoredMetadata(sessionMetadata, this.#limits, "the session");
    if (tooLarge !== undefined) return err(tooLarge);
    const named = sessionId ?? existing?.sessionId;
    return this.open({
      sessionId: named ?? `${this.#prefix}_${globalThis.crypto.randomUUID()}`,
      named: named !== undefined,
      metadata: sessionMetadata,
      existing: existing === undefined ? undefined : { ...existing, metadata: EMPTY_METADATA },
    });
  }

  registerVariable(
    state: H,
    name: string,
    type: VariableType,
    initialValue: unknown,
    options?: RegisterOptions | null,
  ): Promise<Result<Registered<H>>> {
    if (state.closed) return this.#closed;
    const given = optionsObject<RegisterOptions>(options, "registerVariable");
    if (!given.ok) return refuse(given);
    const { constraints, metadata, description, requestId } = given.value;
    if (requestId !== undefined) {
      const checked = checkRequestId(requestId, "registerVariable");
      if (!checked.ok) return refuse(checked);
    }
    const input = { name, type, value: initialValue, constraints, metadata, description };
    return settle(
      requestId === undefined ? state.register(input) : state.register(input, requestId),
      (registered) => (registered.ok ? ok({ state, id: registered.value.id }) : registered),
    );
  }

  getVariable(state: H, identifier: Identifier): Promise<Result<VariableValue>> {
    if (state.closed) return this.#closed;
    if (typeof identifier !== "string") return refuse(badIdentifier("getVariable", identifier));
    return toPromise(state.value(identifier));
  }

  getVariableRecord(state: H, identifier: Identifier): Promise<Result<VariableRecord>> {
    if (state.closed) return this.#closed;
    if (typeof identifier !== "string")
      return refuse(badIdentifier("getVariableRecord", identifier));
    return toPromise(state.record(identifier));
  }

  setVariable(
    state: H,
    identifier: Identifier,
    value: unknown,
    metadata?: Metadata,
    options?: WriteOptions | null,
  ): Promise<Result<Written<H>>> {
    if (state.closed) return this.#closed;
    if (typeof identifier !== "string") return refuse(badIdentifier("setVariable", identifier));
    let expected: number | undefined;
    let requestId: string | undefined;
    if (options !== undefined) {
      const given = optionsObject<WriteOptions>(options, "setVariable");
      if (!given.ok) return refuse(given);
      expected = given.value.expectedVersion;
      requestId = given.value.requestId;
      if (requestId !== undefined) {
        const checked = checkRequestId(requestId, "setVariable");
        if (!checked.ok) return refuse(checked);
      }
    }
    if (expected !== undefined) {
      if (!this.#capabilities.compareAndSet) return this.#noCompareAndSet("setVariable");
      const checked = checkExpectedVersion(expected, identifier);
      if (!checked.ok) return refuse(checked);
    }
    const checkedMetadata = checkWriteMetadata(metadata);
    if (!checkedMetadata.ok) return refuse(checkedMetadata);
    const written =
      requestId === undefined
        ? state.write(identifier, value, checkedMetadata.value, expected)
        : state.write(identifier, value, checkedMetadata.value, expected, requestId);
    // Inline rather than through settle: this is the hot write path of in-process backends.
    if (written instanceof Promise) return written.then((done) => this.#written(state, done));
    return Promise.resolve(this.#written(state, written));
  }

  listVariables(state: H): Promise<Result<readonly VariableRecord[]>> {
    if (state.closed) return this.#closed;
    return toPromise(state.list());
  }

  getVariables(
    state: H,
    identifiers: readonly Identifier[],
  ): Promise<Result<Readonly<Record<Identifier, VariableValue>>>> {
    if (state.closed) return this.#closed;
    if (!Array.isArray(identifiers)) {
      return refuse(
        err(
          StateErrors.invalidArgument(
            `getVariables expects an array of identifiers, got ${describeValue(identifiers)}`,
          ),
        ),
      );
    }
    for (const identifier of identifiers) {
      if (typeof identifier !== "string") return refuse(badIdentifier("getVariables", identifier));
    }
    return settle(state.records(identifiers), (found) => {
      if (!found.ok) return found;
      const values: Record<Identifier, VariableValue> = {};
      for (const [identifier, record] of found.value) define(values, identifier, record.value);
      return ok(values);
    });
  }

  updateVariables(
    state: H,
    updates: Readonly<Record<Identifier, unknown>>,
    metadata?: Metadata,
    options?: BatchWriteOptions | null,
  ): Promise<Result<BatchWritten<H>>> {
    if (state.closed) return this.#closed;
    const proto = typeof updates === "object" && updates !== null && Object.getPrototypeOf(updates);
    if (proto !== Object.prototype && proto !== null) {
      return refuse(
        err(
          StateErrors.invalidArgument(
            `updateVariables expects an object of identifier → value, got ${describeValue(updates)}`,
          ),
        ),
      );
    }
    const given = optionsObject<BatchWriteOptions>(options, "updateVariables");
    if (!given.ok) return refuse(given);
    const expectedVersions = given.value.expectedVersions;
    const requestId = given.value.requestId;
    if (requestId !== undefined) {
      const checked = checkRequestId(requestId, "updateVariables");
      if (!checked.ok) return refuse(checked);
    }
    // Own enumerable keys, `__proto__` included (a valid variable name). Not Object.entries:
    // on an object of many keys it costs a quarter of a 100-item batch.
    const keys = Object.keys(updates);
    const entries = new Array<[Identifier, unknown]>(keys.length);
    for (let i = 0; i < keys.length; i++) entries[i] = [keys[i]!, updates[keys[i]!]];
    if (expectedVersions !== undefined) {
      if (!this.#capabilities.compareAndSet) return this.#noCompareAndSet("updateVariables");
      if (
        typeof expectedVersions !== "object" ||
        expectedVersions === null ||
        Array.isArray(expectedVersions)
      ) {
        return refuse(
          err(
            StateErrors.invalidArgument(
              `updateVariables expects expectedVersions as an object of identifier → version, got ${describeValue(expectedVersions)}`,
            ),
          ),
        );
      }
      for (const [identifier] of entries) {
        if (!Object.hasOwn(expectedVersions, identifier)) continue;
        const checked = checkExpectedVersion(expectedVersions[identifier], identifier);
        if (!checked.ok) return refuse(checked);
      }
    }
    const checkedMetadata = checkWriteMetadata(metadata);
    if (!checkedMetadata.ok) return refuse(checkedMetadata);
    const written =
      requestId === undefined
        ? state.writeMany(entries, checkedMetadata.value, expectedVersions)
        : state.writeMany(entries, checkedMetadata.value, expectedVersions, requestId);
    return settle(written, (done) => (done.ok ? ok({ state, versions: done.value }) : done));
  }

  deleteVariable(
    state: H,
    identifier: Identifier,
    options?: DeleteOptions | null,
  ): Promise<Result<Changed<H>>> {
    if (state.closed) return this.#closed;
    if (typeof identifier !== "string") return refuse(badIdentifier("deleteVariable", identifier));
    const given = optionsObject<DeleteOptions>(options, "deleteVariable");
    if (!given.ok) return refuse(given);
    const { requestId } = given.value;
    if (requestId !== undefined) {
      const checked = checkRequestId(requestId, "deleteVariable");
      if (!checked.ok) return refuse(checked);
    }
    return settle(
      requestId === undefined ? state.remove(identifier) : state.remove(identifier, requestId),
      (removed) => (removed.ok ? ok({ state }) : removed),
    );
  }

  exportState(state: H): Promise<Result<ExportedState>> {
    if (state.closed) return this.#closed;
    return toPromise(state.exportState());
  }

  importState(state: H, exported: unknown): Promise<Result<Changed<H>>> {
    if (state.closed) return this.#closed;
    const parsed = parseExport(exported);
    if (!parsed.ok) return refuse(parsed);
    return settle(state.import(parsed.value), (imported) =>
      imported.ok ? ok({ state }) : imported,
    );
  }

  subscribe(state: H, pattern: string, subscriber: Subscriber): Promise<Result<SubscriptionId>> {
    if (state.closed) return this.#closed;
    if (!this.#capabilities.streaming) {
      return refuse(err(StateErrors.unsupported("subscribe", this.name)));
    }
    const checked = checkSubscription(pattern, subscriber);
    if (!checked.ok) return refuse(checked);
    return toPromise(state.subscribe(pattern, subscriber));
  }

  unsubscribe(state: H, subscription: SubscriptionId): Promise<Result<undefined>> {
    if (state.closed) return this.#closed;
    return toPromise(state.unsubscribe(subscription));
  }

  getVariableHistory(
    state: H,
    identifier: Identifier,
    options?: HistoryOptions | null,
  ): Promise<Result<readonly VariableVersion[]>> {
    if (state.closed) return this.#closed;
    if (!this.#capabilities.history) {
      return refuse(err(StateErrors.unsupported("getVariableHistory", this.name)));
    }
    if (typeof identifier !== "string")
      return refuse(badIdentifier("getVariableHistory", identifier));
    const given = optionsObject<HistoryOptions>(options, "getVariableHistory");
    if (!given.ok) return refuse(given);
    const limit = given.value.limit;
    if (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0)) {
      return refuse(
        err(
          StateErrors.invalidArgument(
            `getVariableHistory expects limit as a positive integer, got ${describeValue(limit)}`,
          ),
        ),
      );
    }
    return toPromise(state.history(identifier, limit));
  }

  async cleanup(state: H): Promise<void> {
    if (!markClosed(state)) return;
    await state.close();
  }

  #written(state: H, written: Result<Versioned>): Result<Written<H>> {
    return written.ok ? ok({ state, version: written.value.version }) : written;
  }

  #noCompareAndSet(call: string): Promise<Result<never>> {
    return refuse(err(StateErrors.unsupported(`${call} with an expected version`, this.name)));
  }
}

const refuse = (result: Result<never>): Promise<Result<never>> => Promise.resolve(result);

/**
 * Turns a backend's `open` (and the `BackendSession`s it makes) into a `StateProvider`: a frozen
 * plain object of bound methods, so it can be spread (`{ ...provider, setVariable }`) to wrap
 * one call, as tests and instrumentation do.
 */
export function defineProvider<H extends BackendSession>(
  definition: ProviderDefinition<H>,
): StateProvider<H> {
  const provider = new (class extends BackendProvider<H> {
    protected open(request: OpenRequest): MaybePromise<Result<H>> {
      return definition.open(request);
    }
  })(definition);
  const methods: Record<string, unknown> = {
    name: provider.name,
    contractVersion: provider.contractVersion,
  };
  for (const callback of [...REQUIRED_CALLBACKS, ...OPTIONAL_CALLBACKS, HISTORY_CALLBACK]) {
    methods[callback] = provider[callback].bind(provider);
  }
  return Object.freeze(methods) as unknown as StateProvider<H>;
}
