import type {
  HistoryOptions,
  Identifier,
  InitOptions,
  Metadata,
  RegisterOptions,
  Subscriber,
  VariableId,
  VariableRecord,
  VariableVersion,
} from "../contract.js";
import { type ClosedError, type StateError, StateErrors } from "../errors.js";
import type { ExportedState } from "../export-format.js";
import { validateProvider } from "../provider.js";
import { type Err, err, ok, type Result } from "../result.js";
import type { VariableType, VariableValue } from "../types/index.js";
import { type AnyProvider, BackendSlot } from "./backend-slot.js";
import { SerialQueue } from "./serial-queue.js";
import { guarded, prepareSwitch, type SwitchFailure } from "./switch.js";
import type {
  BackendKind,
  ContextInfo,
  ContextOptions,
  ProgramDeclaration,
  ProgramInfo,
  ProviderFactory,
  SetOptions,
  StateNeeds,
  SwitchRecord,
  UpdateManyOptions,
  Watch,
  WorkerDeclaration,
  WorkerInfo,
} from "./types.js";
import { forwarder, type WatchEntry } from "./watch-entry.js";

/** Fields every write hands back. */
interface Threaded {
  readonly state: unknown;
}

/**
 * The object applications use to hold a session's variables. It starts on the local
 * (in-process) backend and moves to the bridged one, by itself, the first time the program
 * declares that it needs Python (`registerProgram({ requiresPython: true })`, `attachWorker`)
 * or calls `ensureBridged()`. It never moves back: a Python worker may hold the bridged
 * session open, and leaving would strand it.
 *
 * The switch is transactional: init the bridged backend with the same session id, export,
 * import, verify, move the watches, swap, and only then clean up the local backend. On any
 * failure the Context stays where it was, intact. Writes (and watch/unwatch) run one at a time
 * in call order, so a write issued during a switch waits for it and lands on exactly one
 * backend; reads are not queued and are answered by the old backend until the swap.
 *
 * Every operation answers a `Result` like the contract (nothing throws for a caller's mistake);
 * after `close()`, `closed`.
 */
export class Context {
  /** The session both backends hold; a Python worker opens this id on the bridged backend. */
  readonly sessionId: string;
  readonly #queue = new SerialQueue();
  /** Where the Context may move: `bridged`, then `backends`, in order of preference. */
  readonly #candidates: Candidate[];
  readonly #metadata: Metadata | undefined;
  /** What the program declared it needs so far: it only grows. */
  #needs: Required<StateNeeds>;
  #active: BackendSlot;
  #switching: Promise<Result<SwitchRecord | undefined>> | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  readonly #releasing = new Set<Promise<void>>();
  readonly #watches = new Map<string, WatchEntry>();
  #watchCounter = 0;
  readonly #history: SwitchRecord[] = [];
  readonly #programs = new Map<string, ProgramInfo>();
  readonly #workers = new Map<string, WorkerInfo>();

  private constructor(
    slot: BackendSlot,
    sessionId: string,
    options: ContextOptions,
    candidates: Candidate[],
    needs: Required<StateNeeds>,
  ) {
    this.#active = slot;
    this.sessionId = sessionId;
    this.#candidates = candidates;
    this.#metadata = options.metadata;
    this.#needs = needs;
  }

  /**
   * Initialises the local backend and returns a Context on it. The bridged backend is not
   * touched until the first switch. Throws a TypeError only for a programmer error: `local`
   * (or a `bridged` object) that is not a StateProvider.
   */
  static async create(options: ContextOptions): Promise<Result<Context>> {
    validateProvider(options.local);
    const sources = [
      ...(options.bridged === undefined ? [] : [options.bridged]),
      ...(options.backends ?? []),
    ];
    for (const source of sources) if (typeof source !== "function") validateProvider(source);
    const candidates = sources.map(
      (source, i): Candidate => ({
        source,
        kind: i === 0 && options.bridged !== undefined ? "bridged" : undefined,
        provider: undefined,
      }),
    );
    const needs = checkNeeds(options.needs ?? {}, "Context.create");
    if (!needs.ok) return needs;
    const { local } = options;
    // Named here rather than by the backend, so every backend and the workers share one id.
    const sessionId = options.sessionId ?? `ctx_${globalThis.crypto.randomUUID()}`;
    const initOptions: InitOptions = {
      sessionId,
      ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
      ...(options.existingState === undefined ? {} : { existingState: options.existingState }),
    };
    let start: { kind: BackendKind; provider: AnyProvider } = { kind: "local", provider: local };
    if (!meets(local, needs.value)) {
      const chosen = await choose(candidates, needs.value);
      if (!chosen.ok) return chosen;
      start = chosen.value;
    }
    const init = await start.provider.init(initOptions);
    if (!init.ok) return init;
    const slot = new BackendSlot(start.kind, start.provider, init.value);
    return ok(new Context(slot, sessionId, options, candidates, needs.value));
  }

  /** The backend in use now. */
  get kind(): BackendKind {
    return this.#active.kind;
  }

  // ---- variables -------------------------------------------------------------------------

  /** Registers a variable (version 1) and answers its id. */
  register(
    name: string,
    type: VariableType,
    value: unknown,
    options?: RegisterOptions,
  ): Promise<Result<VariableId>> {
    const checked = optionsObject(options, "register");
    if (!checked.ok) return this.#refuse(checked);
    const given = checked.value;
    return this.#write(
      (p, s) => p.registerVariable(s, name, type, value, given),
      (registered) => registered.id,
    );
  }

  get(identifier: Identifier): Promise<Result<VariableValue>> {
    return this.#read((p, s) => p.getVariable(s, identifier));
  }

  getRecord(identifier: Identifier): Promise<Result<VariableRecord>> {
    return this.#read((p, s) => p.getVariableRecord(s, identifier));
  }

  /** Sets a value and answers the variable's new version. */
  set(identifier: Identifier, value: unknown, given?: SetOptions): Promise<Result<number>> {
    const checked = optionsObject(given, "set");
    if (!checked.ok) return this.#refuse(checked);
    const options = checked.value ?? {};
    const write =
      options.expectedVersion === undefined
        ? undefined
        : { expectedVersion: options.expectedVersion };
    return this.#write(
      (p, s) => p.setVariable(s, identifier, value, options.metadata, write),
      (written) => written.version,
    );
  }

  /** Identifier → value for the found ones; missing identifiers are skipped. */
  getMany(
    identifiers: readonly Identifier[],
  ): Promise<Result<Readonly<Record<Identifier, VariableValue>>>> {
    if (!Array.isArray(identifiers)) {
      return this.#refuse(
        err(StateErrors.invalidArgument("getMany expects an array of identifiers")),
      );
    }
    return this.#read((p, s) => p.getVariables(s, identifiers));
  }

  /**
   * Applies a batch and answers identifier → new version. All or nothing where the backend's
   * `capabilities().atomicUpdates`; otherwise `partial_failure` says what was applied.
   */
  updateMany(
    updates: Readonly<Record<Identifier, unknown>>,
    given?: UpdateManyOptions,
  ): Promise<Result<Readonly<Record<Identifier, number>>>> {
    if (typeof updates !== "object" || updates === null || Array.isArray(updates)) {
      return this.#refuse(
        err(StateErrors.invalidArgument("updateMany expects an object of identifier → value")),
      );
    }
    const checked = optionsObject(given, "updateMany");
    if (!checked.ok) return this.#refuse(checked);
    const options = checked.value ?? {};
    const batch =
      options.expectedVersions === undefined
        ? undefined
        : { expectedVersions: options.expectedVersions };
    return this.#write(
      (p, s) => p.updateVariables(s, updates, options.metadata, batch),
      (written) => written.versions,
    );
  }

  delete(identifier: Identifier): Promise<Result<undefined>> {
    return this.#write(
      (p, s) => p.deleteVariable(s, identifier),
      () => undefined,
    );
  }

  /** Every variable, ordered by registration. */
  list(): Promise<Result<readonly VariableRecord[]>> {
    return this.#read((p, s) => p.listVariables(s));
  }

  /**
   * The variable's retained versions, newest first (the current one first), at most
   * `options.limit`. `unsupported` on a backend without the `history` capability. A backend
   * switch does not carry history over: the new backend's starts at the moved records.
   */
  history(
    identifier: Identifier,
    options?: HistoryOptions,
  ): Promise<Result<readonly VariableVersion[]>> {
    return this.#read((p, s) =>
      p.getVariableHistory === undefined
        ? Promise.resolve(err(StateErrors.unsupported("getVariableHistory", p.name)))
        : p.getVariableHistory(s, identifier, options),
    );
  }

  export(): Promise<Result<ExportedState>> {
    return this.#read((p, s) => p.exportState(s));
  }

  /** Merges a document from `export()` into the session, all or nothing. */
  import(document: unknown): Promise<Result<undefined>> {
    return this.#write(
      (p, s) => p.importState(s, document),
      () => undefined,
    );
  }

  // ---- watches ---------------------------------------------------------------------------

  /**
   * Calls `callback` after each committed change to a variable whose name matches the glob
   * (`*`, `?`). The watch follows the session across a backend switch: exactly one event per
   * change, before and after. Events of the switch's own import are not delivered.
   */
  watch(pattern: string, callback: Subscriber): Promise<Result<Watch>> {
    if (this.#closed) return Promise.resolve(this.#closedError());
    if (typeof pattern !== "string") {
      return Promise.resolve(
        err(StateErrors.invalidArgument(`watch pattern must be a string, got ${typeof pattern}`)),
      );
    }
    if (typeof callback !== "function") {
      return Promise.resolve(
        err(
          StateErrors.invalidArgument(`watch callback must be a function, got ${typeof callback}`),
        ),
      );
    }
    return this.#queue.run(async (): Promise<Result<Watch>> => {
      if (this.#closed) return this.#closedError();
      const slot = this.#active;
      const { provider } = slot;
      if (provider.subscribe === undefined)
        return err(StateErrors.unsupported("watch", provider.name));
      const subscribe = provider.subscribe.bind(provider);
      const id = `watch_${++this.#watchCounter}`;
      const entry: WatchEntry = { id, pattern, callback, active: true, slot, subscription: "" };
      const subscribed = await slot.track((s) =>
        subscribe(s.state, pattern, forwarder(entry, slot)),
      );
      if (!subscribed.ok) return subscribed;
      entry.subscription = subscribed.value;
      this.#watches.set(id, entry);
      return ok({ id, pattern, unwatch: () => this.unwatch(id) });
    });
  }

  /** Stops a watch at once. Idempotent: an unknown or already stopped watch is not an error. */
  unwatch(watch: Watch | string): Promise<Result<undefined>> {
    const id = typeof watch === "string" ? watch : watch?.id;
    if (this.#closed) return Promise.resolve(this.#closedError());
    const entry = this.#watches.get(id);
    if (entry === undefined) return Promise.resolve(ok());
    entry.active = false;
    this.#watches.delete(id);
    // Queued, so that a switch in progress has moved the subscription before it is dropped.
    return this.#queue.run(async () => {
      const { slot } = entry;
      if (slot.retired || slot.provider.unsubscribe === undefined) return ok();
      const unsubscribe = slot.provider.unsubscribe.bind(slot.provider);
      return slot.track((s) => unsubscribe(s.state, entry.subscription));
    });
  }

  // ---- switching -------------------------------------------------------------------------

  /**
   * Moves the session to the bridged backend unless it is there already. Answers the switch
   * record, or `undefined` when there was nothing to do; concurrent calls share one switch.
   * On failure the Context stays on the local backend, intact, and the error says why.
   */
  ensureBridged(): Promise<Result<SwitchRecord | undefined>> {
    return this.#require({ python: true }, "ensureBridged()");
  }

  /**
   * Declares what the program needs of its state (Python workers, surviving a crash, several
   * machines). Needs add up and never go away; unless the current backend meets all of them, the
   * Context moves to the first configured backend that does, transactionally, as for Python.
   * Answers the switch record, or `undefined` when there was nothing to do; `unsupported` when no
   * configured backend meets the needs (they are then not recorded).
   */
  require(needs: StateNeeds): Promise<Result<SwitchRecord | undefined>> {
    const checked = checkNeeds(needs, "require");
    if (!checked.ok) return this.#refuse(checked);
    const wanted = Object.entries(checked.value)
      .filter(([, needed]) => needed)
      .map(([need]) => need);
    return this.#require(checked.value, `require(${wanted.join(", ")})`);
  }

  /** Declares a part of the program. One that `requiresPython` switches the Context to bridged first. */
  async registerProgram(program: ProgramDeclaration): Promise<Result<ProgramInfo>> {
    if (this.#closed) return this.#closedError();
    const name = checkLabel("program", program?.name);
    if (!name.ok) return name;
    const requiresPython = program.requiresPython ?? false;
    if (typeof requiresPython !== "boolean") {
      return err(
        StateErrors.invalidArgument(
          `program ${JSON.stringify(name.value)}: requiresPython must be a boolean`,
        ),
      );
    }
    if (this.#programs.has(name.value)) {
      return err(
        StateErrors.invalidArgument(`program ${JSON.stringify(name.value)} is already registered`),
      );
    }
    if (requiresPython) {
      const bridged = await this.#require(
        { python: true },
        `program ${JSON.stringify(name.value)} requires Python`,
      );
      if (!bridged.ok) return bridged;
      if (this.#programs.has(name.value)) {
        return err(
          StateErrors.invalidArgument(
            `program ${JSON.stringify(name.value)} is already registered`,
          ),
        );
      }
    }
    const info: ProgramInfo = { name: name.value, requiresPython, registeredAt: Date.now() };
    this.#programs.set(info.name, info);
    return ok(info);
  }

  /**
   * Declares a Python worker about to join the session: switches to bridged first, then
   * answers what the worker needs (the session id and the backend serving it).
   */
  async attachWorker(worker: WorkerDeclaration): Promise<Result<WorkerInfo>> {
    if (this.#closed) return this.#closedError();
    const name = checkLabel("worker", worker?.name);
    if (!name.ok) return name;
    if (this.#workers.has(name.value)) {
      return err(
        StateErrors.invalidArgument(`worker ${JSON.stringify(name.value)} is already attached`),
      );
    }
    const bridged = await this.#require(
      { python: true },
      `worker ${JSON.stringify(name.value)} attached`,
    );
    if (!bridged.ok) return bridged;
    if (this.#workers.has(name.value)) {
      return err(
        StateErrors.invalidArgument(`worker ${JSON.stringify(name.value)} is already attached`),
      );
    }
    const info: WorkerInfo = {
      name: name.value,
      sessionId: this.sessionId,
      backend: this.#active.provider.name,
      attachedAt: Date.now(),
    };
    this.#workers.set(info.name, info);
    return ok(info);
  }

  /** Forgets a worker. Idempotent. The Context stays bridged (see the class comment). */
  detachWorker(name: string): Result<undefined> {
    if (this.#closed) return this.#closedError();
    this.#workers.delete(name);
    return ok();
  }

  info(): ContextInfo {
    const { kind, provider } = this.#active;
    const switched = this.#history.filter((record) => record.ok);
    const last = switched.at(-1);
    return {
      kind,
      backend: provider.name,
      sessionId: this.sessionId,
      capabilities: provider.capabilities(),
      requiresBridge: provider.requiresBridge(),
      switches: switched.length,
      lastSwitchAt: last === undefined ? undefined : last.startedAt + last.durationMs,
      history: [...this.#history],
      switching: this.#switching !== undefined,
      closed: this.#closed,
      watches: this.#watches.size,
      programs: [...this.#programs.values()],
      workers: [...this.#workers.values()],
    };
  }

  /**
   * Waits for queued writes and any switch in progress, then cleans up every backend the
   * Context initialised and drops its watches. Idempotent; afterwards every call answers `closed`.
   */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closed = true;
    for (const entry of this.#watches.values()) entry.active = false;
    this.#watches.clear();
    this.#closing = (async () => {
      await this.#queue.run(() => this.#active.release());
      await Promise.all(this.#releasing);
    })();
    return this.#closing;
  }

  // ---- internals -------------------------------------------------------------------------

  #closedError(): Err<ClosedError> {
    return err(StateErrors.closed("Context"));
  }

  /** Answers a caller's mistake; after close, `closed` like every other call. */
  #refuse(error: Err<StateError>): Promise<Result<never>> {
    return Promise.resolve(this.#closed ? this.#closedError() : error);
  }

  #read<T>(
    call: (provider: AnyProvider, state: unknown) => Promise<Result<T>>,
  ): Promise<Result<T>> {
    if (this.#closed) return Promise.resolve(this.#closedError());
    return this.#active.track((slot) => call(slot.provider, slot.state));
  }

  /**
   * Runs a mutating call in the queue on the backend current at its turn, threading the state.
   * Not tracked as in flight: a backend stops being current only inside the queue, so no
   * write can still be running on it when it is released.
   */
  #write<R extends Threaded, T>(
    call: (provider: AnyProvider, state: unknown) => Promise<Result<R>>,
    answer: (value: R) => T,
  ): Promise<Result<T>> {
    if (this.#closed) return Promise.resolve(this.#closedError());
    return this.#queue.run(async (): Promise<Result<T>> => {
      const slot = this.#active;
      const result = await call(slot.provider, slot.state);
      if (!result.ok) return result;
      slot.state = result.value.state;
      return ok(answer(result.value));
    });
  }

  #require(needs: StateNeeds, reason: string): Promise<Result<SwitchRecord | undefined>> {
    if (this.#closed) return Promise.resolve(this.#closedError());
    const wanted = { ...this.#needs };
    for (const need of NEEDS) if (needs[need] === true) wanted[need] = true;
    if (meets(this.#active.provider, wanted)) {
      this.#needs = wanted;
      return Promise.resolve(ok(undefined));
    }
    // A switch under way may lead where these needs point: then its outcome is this call's too.
    if (this.#switching !== undefined) {
      return this.#switching.then((outcome) =>
        !outcome.ok || meets(this.#active.provider, wanted)
          ? outcome
          : this.#require(needs, reason),
      );
    }
    const attempt = (async () => {
      try {
        const outcome = await this.#queue.run(() => this.#switchTo(wanted, reason));
        // The old backend is released after the swap, outside the queue, so writes need not wait.
        await Promise.all(this.#releasing);
        return outcome;
      } finally {
        this.#switching = undefined;
      }
    })();
    this.#switching = attempt;
    return attempt;
  }

  /** Runs in the write queue: nothing else writes until the swap is done or rolled back. */
  async #switchTo(
    needs: Required<StateNeeds>,
    reason: string,
  ): Promise<Result<SwitchRecord | undefined>> {
    if (this.#closed) return this.#closedError();
    const from = this.#active;
    if (meets(from.provider, needs)) {
      this.#needs = needs;
      return ok(undefined);
    }
    const startedAt = Date.now();
    const started = performance.now();
    const watches = [...this.#watches.values()];
    const chosen = await choose(this.#candidates, needs);
    const attempt = {
      reason,
      from: from.kind,
      to: chosen.ok ? chosen.value.kind : needs.python ? "bridged" : "unknown",
      fromBackend: from.provider.name,
      startedAt,
      watches: watches.length,
    };
    if (!chosen.ok) {
      return this.#failed({ ...attempt, toBackend: undefined }, started, {
        step: "create",
        error: chosen.error,
        variables: undefined,
      });
    }
    const { kind, provider: to } = chosen.value;
    const prepared = await prepareSwitch({
      from,
      to,
      toKind: kind,
      init: {
        sessionId: this.sessionId,
        ...(this.#metadata === undefined ? {} : { metadata: this.#metadata }),
      },
      watches,
    });
    if (!prepared.ok)
      return this.#failed({ ...attempt, toBackend: to.name }, started, prepared.error);

    // Each watch is live on the new backend; drop its old subscription, then swap.
    const { slot, subscriptions, variables } = prepared.value;
    for (const entry of watches) {
      const previous = entry.subscription;
      entry.subscription = subscriptions.get(entry) ?? previous;
      entry.slot = slot;
      const unsubscribe = from.provider.unsubscribe?.bind(from.provider);
      if (unsubscribe !== undefined) {
        await from.track((old) =>
          guarded(old.provider, "unsubscribe", () => unsubscribe(old.state, previous)),
        );
      }
    }
    from.retired = true;
    this.#active = slot;
    this.#needs = needs;
    const record: SwitchRecord = {
      ...attempt,
      toBackend: to.name,
      durationMs: performance.now() - started,
      variables,
      ok: true,
      failedStep: undefined,
      error: undefined,
    };
    this.#history.push(record);
    const release = from.release();
    this.#releasing.add(release);
    void release.finally(() => this.#releasing.delete(release));
    return ok(record);
  }

  #failed(
    attempt: Omit<SwitchRecord, "durationMs" | "variables" | "ok" | "failedStep" | "error">,
    started: number,
    failure: SwitchFailure,
  ): Result<never> {
    this.#history.push({
      ...attempt,
      durationMs: performance.now() - started,
      variables: failure.variables,
      ok: false,
      failedStep: failure.step,
      error: failure.error,
    });
    return err(failure.error);
  }
}

/** A backend the Context may move to; a factory is called when first considered. */
interface Candidate {
  readonly source: AnyProvider | ProviderFactory;
  /** `bridged`, or the provider's name once known. */
  kind: BackendKind | undefined;
  provider: AnyProvider | undefined;
}

const NEEDS = ["python", "persistence", "distribution"] as const;

function meets(provider: AnyProvider, needs: Required<StateNeeds>): boolean {
  const capabilities = provider.capabilities();
  return (
    (!needs.python || provider.requiresBridge()) &&
    (!needs.persistence || capabilities.persistence) &&
    (!needs.distribution || capabilities.distribution)
  );
}

function checkNeeds(needs: unknown, method: string): Result<Required<StateNeeds>> {
  if (typeof needs !== "object" || needs === null || Array.isArray(needs)) {
    return err(StateErrors.invalidArgument(`${method} expects an object of needs`));
  }
  const checked = { python: false, persistence: false, distribution: false };
  for (const [need, value] of Object.entries(needs)) {
    if (!(NEEDS as readonly string[]).includes(need) || typeof value !== "boolean") {
      return err(
        StateErrors.invalidArgument(
          `${method}: needs are ${NEEDS.join(", ")} as booleans, got ${JSON.stringify(need)}: ${typeof value}`,
        ),
      );
    }
    checked[need as (typeof NEEDS)[number]] = value;
  }
  return ok(checked);
}

/** The first candidate that meets the needs, creating factories as it goes (a failed one is retried next time). */
async function choose(
  candidates: Candidate[],
  needs: Required<StateNeeds>,
): Promise<Result<{ kind: BackendKind; provider: AnyProvider }>> {
  for (const candidate of candidates) {
    const provider = await resolve(candidate);
    if (!provider.ok) return provider;
    if (meets(provider.value, needs)) {
      return ok({ kind: candidate.kind ?? provider.value.name, provider: provider.value });
    }
  }
  const wanted = NEEDS.filter((need) => needs[need]).join(" + ");
  if (wanted === "python" && !candidates.some((candidate) => candidate.kind === "bridged")) {
    return err(
      StateErrors.unsupported(
        "switching to a bridged backend (no `bridged` option was given)",
        "this Context",
      ),
    );
  }
  return err(
    StateErrors.unsupported(
      `moving to a backend that delivers ${wanted} (none configured does)`,
      "this Context",
    ),
  );
}

const factoryOf = (candidate: Candidate) =>
  candidate.kind === "bridged" ? "bridged backend factory" : "backend factory";

async function resolve(candidate: Candidate): Promise<Result<AnyProvider>> {
  if (candidate.provider !== undefined) return ok(candidate.provider);
  const source = candidate.source;
  let provider: unknown = source;
  if (typeof source === "function") {
    try {
      provider = await source();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return err(StateErrors.unavailable(`the ${factoryOf(candidate)} threw: ${message}`));
    }
    try {
      validateProvider(provider);
    } catch (error) {
      return err(
        StateErrors.invalidArgument(
          `the ${factoryOf(candidate)} returned ${(error as Error).message}`,
        ),
      );
    }
  }
  candidate.provider = provider as AnyProvider;
  return ok(candidate.provider);
}

/** An optional options argument: absent or null means none; anything but an object is a mistake. */
function optionsObject<T extends object>(
  options: T | null | undefined,
  method: string,
): Result<T | undefined> {
  if (options === undefined || options === null) return ok(undefined);
  if (typeof options !== "object" || Array.isArray(options)) {
    return err(
      StateErrors.invalidArgument(`${method} expects an options object, got ${typeof options}`),
    );
  }
  return ok(options);
}

function checkLabel(what: string, name: unknown): Result<string> {
  if (typeof name !== "string" || name.trim() === "") {
    return err(
      StateErrors.invalidArgument(
        `${what} name must be a non-empty string, got ${typeof name === "string" ? JSON.stringify(name) : typeof name}`,
      ),
    );
  }
  return ok(name);
}
