import {
  buildExport,
  type Capabilities,
  CONTRACT_VERSION,
  type Constraints,
  checkExpectedVersion,
  checkMetadata,
  checkRegistration,
  checkRequestId,
  checkValue,
  compilePattern,
  EMPTY_METADATA,
  err,
  eventOf,
  type InitOptions,
  type Metadata,
  mergeMetadata,
  ok,
  parseExport,
  type Result,
  type StateError,
  StateErrors,
  type StateProvider,
  type Subscriber,
  SubscriberSet,
  sourceOf,
  type VariableEvent,
  type VariableRecord,
  type VariableValue,
} from "@dspex/state-provider";

/*
 * A plain in-memory backend written for the suite's own tests: simple rather than fast, so each
 * defect below is one obvious change. It lives here, not in @dspex/local-state, because that
 * package already depends on this one (a devDependency back would make a cycle for turbo).
 */

export const DEFECTS = [
  "batch-claims-atomic-applies-half",
  "non-atomic-batch-misreports-applied",
  "version-does-not-move",
  "failed-set-moves-version",
  "metadata-dropped-on-set",
  "updatedAt-does-not-move",
  "duplicate-name-accepted",
  "constraints-ignored-on-set",
  "values-not-normalised",
  "name-resolved-before-id",
  "delete-leaves-name-resolvable",
  "getVariables-fails-on-missing",
  "list-sorted-by-name",
  "compare-and-set-ignored",
  "import-not-validated",
  "import-not-all-or-nothing",
  "import-resets-versions-and-timestamps",
  "events-before-commit",
  "events-for-failed-batch",
  "throwing-subscriber-breaks-writer",
  "unanchored-patterns",
  "unsubscribe-not-idempotent",
  "events-cross-sessions",
  "streaming-claimed-without-events",
  "sessions-share-variables",
  "cleanup-leaves-timer",
  "cleanup-hangs-second-time",
  "closed-not-answered",
  "contract-version-mismatch",
  "writes-keep-caller-arrays",
  "result-keys-assigned",
  "batch-repeat-reads-stale-record",
  "expected-versions-inherited",
  "records-handed-out-mutable",
  "malformed-expected-version-conflicts",
  "import-rename-refused",
  "persistence-in-process-only",
  "distribution-events-stay-local",
  "import-cas-checks-old-version",
  "import-rename-keeps-old-name",
  "import-merges-metadata",
  "import-moves-replaced-to-end",
  "integer-tolerates-rounding",
  "choice-case-insensitive",
  "pattern-full-match",
  "nan-passes-bounds",
  "length-in-utf16-units",
  "constraints-kept-by-reference",
  "batch-ignores-dimensions",
  "batch-announced-item-by-item",
  "registered-event-before-name-index",
  "batch-conflict-names-variable",
  "case-insensitive-patterns",
  "patterns-as-regex",
  "unclaimed-compare-and-set-ignored",
  "unclaimed-streaming-subscribes",
  "event-timestamp-is-createdAt",
  "history-oldest-first",
  "history-limit-ignored",
  "history-records-failed-writes",
  "history-kept-by-name",
  "history-limit-unchecked",
] as const;
export type Defect = (typeof DEFECTS)[number];

interface Store {
  readonly sessionId: string;
  metadata: Metadata;
  readonly records: Map<string, VariableRecord>;
  readonly subscribers: SubscriberSet;
  /** Committed records per variable id (per name under `history-kept-by-name`), oldest first. */
  readonly history: Map<string, VariableRecord[]>;
}

/**
 * Where shared reference backends keep sessions: `live` is what a server holds while running
 * (records and the subscribers every instance reaches, like Redis and its pub/sub), `durable`
 * what survives it (each session's export as JSON, written on every commit).
 */
export interface ReferenceStorage {
  readonly live: Map<string, Store>;
  readonly durable: Map<string, string>;
}

export function referenceStorage(durable: Map<string, string> = new Map()): ReferenceStorage {
  return { live: new Map(), durable };
}

interface Handle {
  readonly store: Store;
  closed: boolean;
  cleanups: number;
  timer?: ReturnType<typeof setInterval>;
}

export interface ReferenceOptions {
  readonly defect?: Defect;
  /** Keeps each session's store after cleanup and shares it between inits (persistence + distribution). */
  readonly shared?: boolean;
  /** With `shared`: the storage to share with other instances (default: a new one). */
  readonly storage?: ReferenceStorage;
  /** `false`: a correct non-atomic backend (applies what passes, reports exactly that). */
  readonly atomicUpdates?: boolean;
  /** `false`: a correct backend without compare-and-set (expected versions answer unsupported). */
  readonly compareAndSet?: boolean;
  /** `false`: a correct backend without streaming (subscribe answers unsupported). */
  readonly streaming?: boolean;
}

export interface ReferenceBackend extends StateProvider<Handle> {
  /** Clears timers a defective cleanup left behind, so the test process stays clean. */
  dispose(): void;
}

const quiet = () => {};
const globalSubscribers = new SubscriberSet(quiet);

// The contract's rules, written here independently of the backend core (this backend tests the
// suite, so it must not share the code under test).
const MAX_METADATA_ENTRIES = 256;
const MAX_METADATA_BYTES = 64 * 1024;
const MAX_VERSIONS = 100;

function storedMetadataProblem(metadata: Metadata): StateError | undefined {
  const entries = Object.entries(metadata);
  if (entries.length > MAX_METADATA_ENTRIES)
    return StateErrors.limitExceeded(
      "maxMetadataEntries",
      MAX_METADATA_ENTRIES,
      "too many entries",
    );
  const bytes = entries.reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
  if (bytes > MAX_METADATA_BYTES)
    return StateErrors.limitExceeded("maxMetadataBytes", MAX_METADATA_BYTES, "too many bytes");
  return undefined;
}

const wrongArgument = (what: string) => err(StateErrors.invalidArgument(what));
const isOptions = (x: unknown) =>
  x === undefined || x === null || (typeof x === "object" && !Array.isArray(x));
/** The reference keeps no request ids (it never fails ambiguously), but refuses malformed ones. */
const requestIdOf = (requestId: unknown, call: string): Result<string | undefined> =>
  requestId === undefined ? ok(undefined) : checkRequestId(requestId, call);
const isPlainObject = (x: unknown) =>
  typeof x === "object" &&
  x !== null &&
  [Object.prototype, null].includes(Object.getPrototypeOf(x) as object | null);

export function referenceBackend(options: ReferenceOptions = {}): ReferenceBackend {
  const defect = options.defect;
  const has = (d: Defect) => defect === d;
  const storage = options.storage ?? referenceStorage();
  const stores = options.shared ? storage.live : new Map<string, Store>();
  // Subscribers this instance alone reaches (the distribution-events-stay-local defect).
  const localSubscribers = new Map<Store, SubscriberSet>();
  const subscribersOf = (store: Store) => {
    if (!has("distribution-events-stay-local")) return store.subscribers;
    let set = localSubscribers.get(store);
    if (set === undefined) {
      set = new SubscriberSet(quiet);
      localSubscribers.set(store, set);
    }
    return set;
  };
  const persist = (store: Store) => {
    if (!options.shared || has("persistence-in-process-only")) return;
    const document = buildExport(store.sessionId, store.records.values(), store.metadata);
    storage.durable.set(store.sessionId, JSON.stringify(document));
  };
  const timers = new Set<ReturnType<typeof setInterval>>();
  let nextId = 0;
  const live = new Set<string>();

  const capabilities: Capabilities = {
    atomicUpdates: options.atomicUpdates !== false && !has("non-atomic-batch-misreports-applied"),
    streaming: options.streaming !== false && !has("unclaimed-streaming-subscribes"),
    persistence: options.shared === true,
    distribution: options.shared === true,
    compareAndSet: options.compareAndSet !== false && !has("unclaimed-compare-and-set-ignored"),
    history: true,
  };
  // A backend without compare-and-set refuses expectations, unless the defect ignores them.
  const refusesExpectations =
    !capabilities.compareAndSet && !has("unclaimed-compare-and-set-ignored");
  const ignoresExpectations =
    has("compare-and-set-ignored") || has("unclaimed-compare-and-set-ignored");
  // Versions as the last register or write left them, not as an import did (the defect).
  const writtenVersions = new Map<string, number>();
  const versionForCas = (record: VariableRecord) =>
    has("import-cas-checks-old-version")
      ? (writtenVersions.get(record.id) ?? record.version)
      : record.version;
  // Names an import renamed away that still resolve (the defect).
  const aliases = new Map<string, string>();
  // Ids registered but not yet findable by name while their event is out (the defect).
  const unindexed = new Set<string>();

  const closedError = () => err(StateErrors.closed("Reference"));
  const isClosed = (h: Handle) => h.closed && !has("closed-not-answered");

  function resolve(store: Store, identifier: string): VariableRecord | undefined {
    const byName = () => {
      for (const record of store.records.values())
        if (record.name === identifier && !unindexed.has(record.id)) return record;
      const alias = aliases.get(identifier);
      return alias === undefined ? undefined : store.records.get(alias);
    };
    if (has("name-resolved-before-id")) return byName() ?? store.records.get(identifier);
    return store.records.get(identifier) ?? byName();
  }

  function emit(store: Store, event: VariableEvent): void {
    if (has("streaming-claimed-without-events")) return;
    if (has("throwing-subscriber-breaks-writer")) {
      for (const subscriber of rawSubscribers.get(store) ?? []) subscriber(event);
      return;
    }
    (has("events-cross-sessions") ? globalSubscribers : subscribersOf(store)).emit(event);
  }
  const rawSubscribers = new Map<Store, Subscriber[]>();

  /** The events of one commit, queued together (a subscriber's own write is heard after them). */
  function emitAll(store: Store, events: VariableEvent[]): void {
    if (
      has("streaming-claimed-without-events") ||
      has("throwing-subscriber-breaks-writer") ||
      has("events-cross-sessions")
    ) {
      for (const event of events) emit(store, event);
      return;
    }
    subscribersOf(store).emitAll(events);
  }

  function written(record: VariableRecord, value: VariableValue, update: Metadata): VariableRecord {
    return {
      ...record,
      value,
      metadata: has("metadata-dropped-on-set")
        ? record.metadata
        : mergeMetadata(record.metadata, update),
      version: has("version-does-not-move") ? record.version : record.version + 1,
      updatedAt: has("updatedAt-does-not-move") ? record.updatedAt : Date.now(),
      source: sourceOf(update),
    };
  }

  const historyKey = (record: VariableRecord) =>
    has("history-kept-by-name") ? record.name : record.id;

  /** Appends a committed record; `restart` (registration, import) begins the history anew. */
  function remember(store: Store, record: VariableRecord, restart: boolean) {
    const key = historyKey(record);
    const kept = restart && !has("history-kept-by-name") ? [] : (store.history.get(key) ?? []);
    kept.push(record);
    store.history.set(key, kept.slice(-MAX_VERSIONS));
  }

  function commit(
    store: Store,
    record: VariableRecord,
    kind: VariableEvent["kind"],
    previous: VariableValue | undefined,
    restartHistory = kind === "registered",
  ) {
    // Frozen, so a record handed out cannot be used to change the stored one.
    if (!has("records-handed-out-mutable")) Object.freeze(record);
    remember(store, record, restartHistory);
    if (has("events-before-commit")) {
      emit(store, eventFor(kind, record, previous));
      store.records.set(record.id, record);
      return;
    }
    store.records.set(record.id, record);
    persist(store);
    emit(store, eventFor(kind, record, previous));
  }

  function eventFor(
    kind: VariableEvent["kind"],
    record: VariableRecord,
    previous: VariableValue | undefined,
  ): VariableEvent {
    if (has("event-timestamp-is-createdAt"))
      return eventOf(kind, record, previous, record.createdAt);
    return eventOf(kind, record, previous);
  }

  function check(record: VariableRecord, value: unknown, inBatch = false) {
    let constraints: Constraints = has("constraints-ignored-on-set") ? {} : record.constraints;
    if (inBatch && has("batch-ignores-dimensions")) {
      const { dimensions: _d, shape: _s, ...rest } = constraints;
      constraints = rest;
    }
    const edge = edgeDefect(record, value, constraints);
    if (edge !== undefined) {
      if (!edge.ok) return edge;
      ({ value, constraints } = edge.value);
    }
    const checked = checkValue(record.name, record.type, value, constraints);
    if (checked.ok && has("values-not-normalised")) return ok(value as VariableValue);
    if (checked.ok && has("writes-keep-caller-arrays") && Array.isArray(value))
      return ok(value as VariableValue);
    return checked;
  }

  /** The constraint-edge defects: a value and constraints to check instead, or a failure. */
  function edgeDefect(
    record: VariableRecord,
    value: unknown,
    constraints: Constraints,
  ): Result<{ value: unknown; constraints: Constraints }> | undefined {
    const fail = (rule: string) =>
      err(StateErrors.validation(record.name, rule, `${rule} (a defect of the reference)`));
    const { type } = record;
    if (has("integer-tolerates-rounding") && type === "integer" && typeof value === "number") {
      if (Math.abs(value - Math.round(value)) < 1e-6)
        return ok({ value: Math.round(value), constraints });
    }
    if (has("choice-case-insensitive") && type === "choice" && typeof value === "string") {
      const match = constraints.choices?.find((c) => c.toLowerCase() === value.toLowerCase());
      if (match !== undefined) return ok({ value: match, constraints });
    }
    if (has("nan-passes-bounds") && type === "float" && Number.isNaN(value))
      return ok({ value, constraints: {} });
    if (type === "string" && typeof value === "string") {
      if (has("pattern-full-match") && constraints.pattern !== undefined) {
        if (!new RegExp(`^(?:${constraints.pattern})$`, "u").test(value)) return fail("pattern");
        const { pattern: _p, ...rest } = constraints;
        return ok({ value, constraints: rest });
      }
      if (
        has("length-in-utf16-units") &&
        (constraints.minLength ?? constraints.maxLength) !== undefined
      ) {
        if (constraints.minLength !== undefined && value.length < constraints.minLength)
          return fail("minLength");
        if (constraints.maxLength !== undefined && value.length > constraints.maxLength)
          return fail("maxLength");
        const { minLength: _min, maxLength: _max, ...rest } = constraints;
        return ok({ value, constraints: rest });
      }
    }
    return undefined;
  }

  /** Result objects keyed by identifiers: `__proto__` must stay an ordinary own key. */
  function keyed<T>(entries: [string, T][]): Record<string, T> {
    if (!has("result-keys-assigned")) return Object.fromEntries(entries);
    const out: Record<string, T> = {};
    for (const [key, value] of entries) out[key] = value;
    return out;
  }

  function importInto(store: Store, document: unknown, mergeSession = true): Result<undefined> {
    let records: readonly VariableRecord[];
    let sessionMetadata: Metadata = {};
    if (has("import-not-validated")) {
      const variables =
        (document as { variables?: Record<string, VariableRecord> } | null)?.variables ?? {};
      records = Object.values(variables);
    } else {
      const parsed = parseExport(document);
      if (!parsed.ok) return parsed;
      records = parsed.value.records;
      sessionMetadata = parsed.value.metadata;
    }
    for (const record of records) {
      const tooLarge = storedMetadataProblem(record.metadata);
      if (tooLarge) return err(tooLarge);
    }
    if (has("import-resets-versions-and-timestamps")) {
      const now = Date.now();
      records = records.map((r) => ({ ...r, version: 1, createdAt: now, updatedAt: now }));
    }
    const clash = (r: VariableRecord) => {
      const owner = resolveName(store, r.name);
      // The owner frees the name when the import replaces it (conflicts are judged on the end state).
      const replaced = !has("import-rename-refused") && records.some((o) => o.id === owner?.id);
      return owner !== undefined && owner.id !== r.id && !replaced;
    };
    if (!has("import-not-all-or-nothing")) {
      const first = records.find(clash);
      if (first) return err(StateErrors.alreadyExists(first.name));
    }
    for (let record of records) {
      if (has("import-not-all-or-nothing") && clash(record))
        return err(StateErrors.alreadyExists(record.name));
      const previous = store.records.get(record.id);
      if (previous && has("import-merges-metadata"))
        record = { ...record, metadata: { ...previous.metadata, ...record.metadata } };
      if (previous && has("import-moves-replaced-to-end")) store.records.delete(record.id);
      if (previous && previous.name !== record.name && has("import-rename-keeps-old-name"))
        aliases.set(previous.name, record.id);
      commit(store, record, previous ? "updated" : "registered", previous?.value, true);
    }
    if (mergeSession) store.metadata = { ...store.metadata, ...sessionMetadata };
    return ok();
  }

  function resolveName(store: Store, name: string) {
    for (const record of store.records.values()) if (record.name === name) return record;
    return undefined;
  }

  const backend: ReferenceBackend = {
    name: defect ? `Reference(${defect})` : "Reference",
    contractVersion: has("contract-version-mismatch") ? "2.0.0" : CONTRACT_VERSION,

    async init(init: InitOptions = {}) {
      const given = init.sessionId as unknown;
      if (
        given !== undefined &&
        (typeof given !== "string" || given === "" || /[\uD800-\uDFFF]/u.test(given))
      )
        return wrongArgument("session id must be a non-empty, well-formed string");
      const metadata = checkMetadata(init.metadata);
      if (!metadata.ok) return metadata;
      const parsed =
        init.existingState === undefined || has("import-not-validated")
          ? undefined
          : parseExport(init.existingState);
      if (parsed !== undefined && !parsed.ok) return parsed;
      const sessionId = init.sessionId ?? parsed?.value.sessionId ?? `ref_${++nextId}`;
      // The document's session metadata, with the caller's merged over it.
      const sessionMetadata = { ...(parsed?.value.metadata ?? {}), ...metadata.value };
      const tooLarge = storedMetadataProblem(sessionMetadata);
      if (tooLarge) return err(tooLarge);
      let store = options.shared
        ? stores.get(sessionId)
        : has("sessions-share-variables")
          ? stores.values().next().value
          : undefined;
      const saved = options.shared ? storage.durable.get(sessionId) : undefined;
      if (store === undefined && saved !== undefined) {
        // A new process: the session comes back from what the last one persisted.
        const parsed = parseExport(JSON.parse(saved));
        if (!parsed.ok) return parsed;
        store = {
          sessionId,
          metadata: parsed.value.metadata,
          records: new Map(parsed.value.records.map((r) => [r.id, Object.freeze(r)])),
          subscribers: new SubscriberSet(quiet),
          // Like an import, a restored session's history starts at its records.
          history: new Map(parsed.value.records.map((r) => [r.id, [Object.freeze(r)]])),
        };
        stores.set(sessionId, store);
      }
      if (store === undefined) {
        store = {
          sessionId,
          metadata: sessionMetadata,
          records: new Map(),
          subscribers: new SubscriberSet(quiet),
          history: new Map(),
        };
        stores.set(sessionId, store);
      }
      if (init.existingState !== undefined) {
        const imported = importInto(store, init.existingState, false);
        if (!imported.ok) return imported;
      }
      const handle: Handle = { store, closed: false, cleanups: 0 };
      if (has("cleanup-leaves-timer")) {
        handle.timer = setInterval(() => {}, 60_000);
        timers.add(handle.timer);
      }
      return ok(handle);
    },

    async registerVariable(h, name, type, value, registerOptions = {}) {
      if (isClosed(h)) return closedError();
      if (!isOptions(registerOptions)) return wrongArgument("options must be an object");
      const { requestId, ...registration } = registerOptions;
      const key = requestIdOf(requestId, "registerVariable");
      if (!key.ok) return key;
      const checked = checkRegistration({ name, type, value, ...registration });
      if (!checked.ok) return checked;
      const existing = resolveName(h.store, checked.value.name);
      if (existing && !has("duplicate-name-accepted"))
        return err(StateErrors.alreadyExists(checked.value.name));
      if (existing) h.store.records.delete(existing.id);
      const now = Date.now();
      const record: VariableRecord = {
        id: `ref_var_${++nextId}`,
        ...checked.value,
        ...(has("constraints-kept-by-reference") && registerOptions.constraints
          ? { constraints: registerOptions.constraints as Constraints }
          : {}),
        value: has("values-not-normalised") ? (value as VariableValue) : checked.value.value,
        version: 1,
        createdAt: now,
        updatedAt: now,
        source: sourceOf(checked.value.metadata),
      };
      if (has("registered-event-before-name-index")) unindexed.add(record.id);
      commit(h.store, record, "registered", undefined);
      unindexed.delete(record.id);
      writtenVersions.set(record.id, 1);
      return ok({ state: h, id: record.id });
    },

    async getVariable(h, identifier) {
      if (isClosed(h)) return closedError();
      if (typeof identifier !== "string") return wrongArgument("identifier must be a string");
      const record = resolve(h.store, identifier);
      return record ? ok(record.value) : err(StateErrors.notFound(identifier));
    },

    async getVariableRecord(h, identifier) {
      if (isClosed(h)) return closedError();
      if (typeof identifier !== "string") return wrongArgument("identifier must be a string");
      const record = resolve(h.store, identifier);
      return record ? ok(record) : err(StateErrors.notFound(identifier));
    },

    async setVariable(h, identifier, value, metadata, writeOptions) {
      if (isClosed(h)) return closedError();
      if (typeof identifier !== "string") return wrongArgument("identifier must be a string");
      if (!isOptions(writeOptions)) return wrongArgument("options must be an object");
      const key = requestIdOf(writeOptions?.requestId, "setVariable");
      if (!key.ok) return key;
      const record = resolve(h.store, identifier);
      if (!record) return err(StateErrors.notFound(identifier));
      const expected = writeOptions?.expectedVersion;
      if (expected !== undefined && refusesExpectations)
        return err(StateErrors.unsupported("expectedVersion", "Reference"));
      if (expected !== undefined && !ignoresExpectations) {
        if (!has("malformed-expected-version-conflicts")) {
          const argument = checkExpectedVersion(expected, identifier);
          if (!argument.ok) return argument;
        }
        if (expected !== versionForCas(record))
          return err(StateErrors.versionConflict(identifier, expected, versionForCas(record)));
      }
      const checked = check(record, value);
      if (!checked.ok) {
        if (has("history-records-failed-writes"))
          remember(h.store, { ...record, value: value as VariableValue }, false);
        if (has("failed-set-moves-version"))
          h.store.records.set(record.id, { ...record, version: record.version + 1 });
        return checked;
      }
      const update = checkMetadata(metadata, record.name);
      if (!update.ok) return update;
      const next = written(record, checked.value, update.value);
      const tooLarge = storedMetadataProblem(next.metadata);
      if (tooLarge) return err(tooLarge);
      commit(h.store, next, "updated", record.value);
      writtenVersions.set(next.id, next.version);
      return ok({ state: h, version: next.version });
    },

    async listVariables(h) {
      if (isClosed(h)) return closedError();
      const records = [...h.store.records.values()];
      if (has("list-sorted-by-name")) records.sort((a, b) => a.name.localeCompare(b.name));
      return ok(records);
    },

    async getVariables(h, identifiers) {
      if (isClosed(h)) return closedError();
      if (!Array.isArray(identifiers) || identifiers.some((i) => typeof i !== "string"))
        return wrongArgument("identifiers must be an array of strings");
      const values: [string, VariableValue][] = [];
      for (const identifier of identifiers) {
        const record = resolve(h.store, identifier);
        if (record) values.push([identifier, record.value]);
        else if (has("getVariables-fails-on-missing")) return err(StateErrors.notFound(identifier));
      }
      return ok(keyed(values));
    },

    async updateVariables(h, updates, metadata, batchOptions) {
      if (isClosed(h)) return closedError();
      if (!isPlainObject(updates)) return wrongArgument("updates must be a plain object");
      if (!isOptions(batchOptions)) return wrongArgument("options must be an object");
      const key = requestIdOf(batchOptions?.requestId, "updateVariables");
      if (!key.ok) return key;
      const update = checkMetadata(metadata ?? EMPTY_METADATA);
      if (!update.ok) return update;
      const expectations = batchOptions?.expectedVersions;
      if (expectations !== undefined && refusesExpectations)
        return err(StateErrors.unsupported("expectedVersions", "Reference"));
      // A malformed expectation is a wrong argument: the whole call fails before anything else.
      if (
        expectations !== undefined &&
        !ignoresExpectations &&
        !has("malformed-expected-version-conflicts")
      ) {
        for (const identifier of Object.keys(updates)) {
          if (!Object.hasOwn(expectations, identifier)) continue;
          const argument = checkExpectedVersion(expectations[identifier], identifier);
          if (!argument.ok) return argument;
        }
      }
      const failed: [string, StateError][] = [];
      const planned: [string, VariableRecord, VariableRecord][] = [];
      const applied: string[] = [];
      const undo: VariableRecord[] = [];
      const versions: [string, number][] = [];
      // A variable named twice (by name and by id): the later entry sees the earlier one's write.
      const pending = new Map<string, VariableRecord>();
      for (const [identifier, value] of Object.entries(updates)) {
        const stored = resolve(h.store, identifier);
        const fromBatch =
          stored && !has("batch-repeat-reads-stale-record") ? pending.get(stored.id) : undefined;
        const record = fromBatch ?? stored;
        const expected =
          expectations !== undefined &&
          (has("expected-versions-inherited") || Object.hasOwn(expectations, identifier))
            ? expectations[identifier]
            : undefined;
        let problem: StateError | undefined;
        let checkedValue: VariableValue | undefined;
        if (!record) problem = StateErrors.notFound(identifier);
        else if (
          expected !== undefined &&
          !ignoresExpectations &&
          expected !== (fromBatch ? record.version : versionForCas(record))
        ) {
          const actual = fromBatch ? record.version : versionForCas(record);
          const named = has("batch-conflict-names-variable") ? record.name : identifier;
          problem = StateErrors.versionConflict(named, expected, actual);
        } else {
          const checked = check(record, value, true);
          if (checked.ok) checkedValue = checked.value;
          else problem = checked.error;
        }
        if (problem) {
          failed.push([identifier, problem]);
          if (has("batch-claims-atomic-applies-half"))
            return err(StateErrors.partialFailure(keyed(failed), []));
          continue;
        }
        const next = written(record!, checkedValue!, update.value);
        const tooLarge = storedMetadataProblem(next.metadata);
        if (tooLarge) {
          failed.push([identifier, tooLarge]);
          continue;
        }
        pending.set(next.id, next);
        if (
          has("batch-claims-atomic-applies-half") ||
          has("events-for-failed-batch") ||
          !capabilities.atomicUpdates
        ) {
          commit(h.store, next, "updated", record!.value);
          undo.push(record!);
          applied.push(identifier);
          versions.push([identifier, next.version]);
        } else {
          planned.push([identifier, record!, next]);
        }
      }
      if (failed.length > 0) {
        // Rolls the state back, but the events already went out.
        if (has("events-for-failed-batch"))
          for (const record of undo.reverse()) h.store.records.set(record.id, record);
        return err(
          StateErrors.partialFailure(
            keyed(failed),
            has("non-atomic-batch-misreports-applied")
              ? []
              : capabilities.atomicUpdates
                ? []
                : applied,
          ),
        );
      }
      for (const [identifier, , next] of planned) {
        writtenVersions.set(next.id, next.version);
        versions.push([identifier, next.version]);
      }
      if (has("batch-announced-item-by-item")) {
        for (const [, record, next] of planned) commit(h.store, next, "updated", record.value);
      } else {
        // The whole batch commits first; then its events go out together.
        for (const [, , next] of planned) {
          if (!has("records-handed-out-mutable")) Object.freeze(next);
          remember(h.store, next, false);
          h.store.records.set(next.id, next);
        }
        persist(h.store);
        emitAll(
          h.store,
          planned.map(([, record, next]) => eventFor("updated", next, record.value)),
        );
      }
      return ok({ state: h, versions: keyed(versions) });
    },

    async deleteVariable(h, identifier, deleteOptions) {
      if (isClosed(h)) return closedError();
      if (typeof identifier !== "string") return wrongArgument("identifier must be a string");
      if (!isOptions(deleteOptions)) return wrongArgument("options must be an object");
      const key = requestIdOf(deleteOptions?.requestId, "deleteVariable");
      if (!key.ok) return key;
      const record = resolve(h.store, identifier);
      if (!record) return err(StateErrors.notFound(identifier));
      if (has("delete-leaves-name-resolvable")) {
        // The name still resolves to a ghost copy under another key.
        h.store.records.set(`${record.id}_ghost`, { ...record, id: `${record.id}_ghost` });
      }
      h.store.records.delete(record.id);
      if (!has("history-kept-by-name")) h.store.history.delete(record.id);
      persist(h.store);
      emit(h.store, eventOf("deleted", record, record.value, Date.now()));
      return ok({ state: h });
    },

    async exportState(h) {
      if (isClosed(h)) return closedError();
      return ok(buildExport(h.store.sessionId, h.store.records.values(), h.store.metadata));
    },

    async importState(h, document) {
      if (isClosed(h)) return closedError();
      const imported = importInto(h.store, document);
      return imported.ok ? ok({ state: h }) : imported;
    },

    async getVariableHistory(h, identifier, historyOptions) {
      if (isClosed(h)) return closedError();
      if (typeof identifier !== "string") return wrongArgument("identifier must be a string");
      if (!isOptions(historyOptions)) return wrongArgument("options must be an object");
      const limit = historyOptions?.limit;
      if (
        limit !== undefined &&
        !has("history-limit-unchecked") &&
        !(Number.isSafeInteger(limit) && limit > 0)
      )
        return wrongArgument(`limit must be a positive integer, got ${String(limit)}`);
      const record = resolve(h.store, identifier);
      if (!record) return err(StateErrors.notFound(identifier));
      const kept = h.store.history.get(historyKey(record)) ?? [];
      const ordered = has("history-oldest-first") ? [...kept] : [...kept].reverse();
      const taken =
        limit === undefined || has("history-limit-ignored") ? ordered : ordered.slice(0, limit);
      return ok(
        taken.map((r) =>
          Object.freeze({
            version: r.version,
            value: r.value,
            metadata: r.metadata,
            source: r.source,
            timestamp: r.updatedAt,
          }),
        ),
      );
    },

    requiresBridge: () => false,
    capabilities: () => capabilities,

    async cleanup(h) {
      h.cleanups++;
      if (h.cleanups > 1 && has("cleanup-hangs-second-time")) return new Promise<void>(() => {});
      if (h.closed) return;
      h.closed = true;
      if (!options.shared) {
        h.store.records.clear();
        h.store.history.clear();
        h.store.subscribers.clear();
        stores.delete(h.store.sessionId);
      }
    },

    async subscribe(h, pattern, subscriber) {
      if (isClosed(h)) return closedError();
      if (options.streaming === false)
        return err(StateErrors.unsupported("subscribe", "Reference"));
      if (typeof pattern !== "string" || pattern === "" || typeof subscriber !== "function")
        return wrongArgument("subscribe takes a non-empty glob and a function");
      if (has("case-insensitive-patterns") || has("patterns-as-regex")) {
        const matches = has("patterns-as-regex")
          ? (name: string) =>
              new RegExp(`^${pattern.replaceAll("*", ".*").replaceAll("?", ".")}$`).test(name)
          : (() => {
              const lower = compilePattern(pattern.toLowerCase());
              return (name: string) => lower(name.toLowerCase());
            })();
        return ok(
          subscribersOf(h.store).add("*", (e) => {
            if (matches(e.name)) subscriber(e);
          }),
        );
      }
      if (has("unanchored-patterns")) {
        const fragment = pattern.replaceAll("*", "");
        const wrapped: Subscriber = (e) => {
          if (e.name.includes(fragment)) subscriber(e);
        };
        return ok(h.store.subscribers.add("*", wrapped));
      }
      if (has("throwing-subscriber-breaks-writer")) {
        const matches = compilePattern(pattern);
        const list = rawSubscribers.get(h.store) ?? [];
        list.push((e) => {
          if (matches(e.name)) subscriber(e);
        });
        rawSubscribers.set(h.store, list);
        return ok(`raw_${list.length}`);
      }
      const id = (has("events-cross-sessions") ? globalSubscribers : subscribersOf(h.store)).add(
        pattern,
        subscriber,
      );
      live.add(id);
      return ok(id);
    },

    async unsubscribe(h, subscription) {
      if (isClosed(h)) return closedError();
      if (options.streaming === false)
        return err(StateErrors.unsupported("unsubscribe", "Reference"));
      const subscribers = has("events-cross-sessions") ? globalSubscribers : subscribersOf(h.store);
      if (has("unsubscribe-not-idempotent") && !live.delete(subscription))
        return err(StateErrors.notFound(subscription));
      subscribers.remove(subscription);
      return ok();
    },

    dispose() {
      for (const timer of timers) clearInterval(timer);
      timers.clear();
      globalSubscribers.clear();
    },
  };
  return backend;
}

/**
 * A shared reference backend with the suite's hooks wired the way a real author would: a second
 * instance on the same storage, and a restart that keeps only what was persisted.
 */
export function sharedReference(options: Omit<ReferenceOptions, "shared" | "storage"> = {}) {
  const storage = referenceStorage();
  const made: ReferenceBackend[] = [];
  const make = (on: ReferenceStorage) => {
    const backend = referenceBackend({ ...options, shared: true, storage: on });
    made.push(backend);
    return backend;
  };
  const backend = make(storage);
  return {
    backend,
    hooks: {
      secondInstance: () => make(storage),
      restart: () => make(referenceStorage(storage.durable)),
    },
    dispose: () => {
      for (const instance of made) instance.dispose();
    },
  };
}
