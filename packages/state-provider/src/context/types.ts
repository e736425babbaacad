import type { Capabilities, Identifier, Metadata, StateProvider, Subscriber } from "../contract.js";
import type { StateError } from "../errors.js";
import type { ExportedState } from "../export-format.js";
import type { Result } from "../result.js";

/** Which backend a Context is on: `local`, `bridged`, or the name of a provider in `backends`. */
export type BackendKind = "local" | "bridged" | (string & {});

/**
 * What a program needs of its state. The Context moves, transactionally and never back, to the
 * first configured backend that delivers all of it (`local`, then `bridged`, then `backends`).
 */
export interface StateNeeds {
  /** Python workers read and write the session: a backend that requires the bridge. */
  readonly python?: boolean;
  /** The session survives a crash of this process: capability `persistence`. */
  readonly persistence?: boolean;
  /** Processes on several machines share the session: capability `distribution`. */
  readonly distribution?: boolean;
}

/** Creates the bridged backend on first need (e.g. one that starts a server). May be async. */
export type ProviderFactory = () => StateProvider<unknown> | Promise<StateProvider<unknown>>;

export interface ContextOptions {
  /** The in-process backend the Context starts on (e.g. LocalState). */
  readonly local: StateProvider<unknown>;
  /**
   * The backend Python workers can reach (e.g. BridgedState), or a factory for it, called
   * once, on the first switch. Without it, `ensureBridged` answers `unsupported`.
   */
  readonly bridged?: StateProvider<unknown> | ProviderFactory;
  /**
   * Further backends, in order of preference after `bridged`, for needs `bridged` does not meet
   * (e.g. a RedisState for `persistence`). Factories are called when first considered.
   */
  readonly backends?: readonly (StateProvider<unknown> | ProviderFactory)[];
  /**
   * What the program needs from the start. The Context starts on the first backend that meets
   * it (not touching `local` when local cannot): with `sessionId`, a program restarted after a
   * crash reattaches to its stored session and goes on from its variables and versions.
   */
  readonly needs?: StateNeeds;
  /** The session every backend holds; by default a new `ctx_<uuid>`. */
  readonly sessionId?: string;
  /** Session metadata, given to both backends. */
  readonly metadata?: Metadata;
  /** A document from `export()` to start from. */
  readonly existingState?: ExportedState;
}

export interface SetOptions {
  /** Merged into the variable's metadata (new keys win); `source` names the writer. */
  readonly metadata?: Metadata;
  /** Compare-and-set: `version_conflict` unless the variable is at this version. */
  readonly expectedVersion?: number;
}

export interface UpdateManyOptions {
  readonly metadata?: Metadata;
  /** Compare-and-set per identifier (as given in `updates`). */
  readonly expectedVersions?: Readonly<Record<Identifier, number>>;
}

/** A live watch. Survives backend switches; `unwatch` is idempotent. */
export interface Watch {
  readonly id: string;
  readonly pattern: string;
  unwatch(): Promise<Result<undefined>>;
}

export type { Subscriber as WatchCallback };

/** The steps of a switch, in order; a failed attempt names the one that failed. */
export type SwitchStep = "create" | "init" | "export" | "import" | "verify" | "subscribe";

/** One attempt to move the session to another backend. */
export interface SwitchRecord {
  /** Why the switch happened: `ensureBridged()`, `program "x" requires Python`, `worker "w" attached`. */
  readonly reason: string;
  readonly from: BackendKind;
  readonly to: BackendKind;
  /** Provider names. `toBackend` is `undefined` when the bridged factory failed. */
  readonly fromBackend: string;
  readonly toBackend: string | undefined;
  /** Wall-clock epoch ms when the switch started (after the writes queued before it). */
  readonly startedAt: number;
  /** From start to swap (or to the end of the rollback). Excludes cleaning up the old backend. */
  readonly durationMs: number;
  /** Variables moved; `undefined` when the attempt failed before the export. */
  readonly variables: number | undefined;
  /** Live watches moved. */
  readonly watches: number;
  readonly ok: boolean;
  /** For a failed attempt: the step and the error; the Context stayed on `from`. */
  readonly failedStep: SwitchStep | undefined;
  readonly error: StateError | undefined;
}

export interface ProgramDeclaration {
  readonly name: string;
  /** True when the program runs Python code that reads or writes the variables. */
  readonly requiresPython?: boolean;
}

export interface ProgramInfo {
  readonly name: string;
  readonly requiresPython: boolean;
  readonly registeredAt: number;
}

export interface WorkerDeclaration {
  /** A label for the Python worker process, e.g. `optimizer`. */
  readonly name: string;
}

/** What a Python worker needs to join: the session it must open on the bridged backend. */
export interface WorkerInfo {
  readonly name: string;
  readonly sessionId: string;
  readonly backend: string;
  readonly attachedAt: number;
}

export interface ContextInfo {
  readonly kind: BackendKind;
  /** The current provider's name, e.g. `LocalState`. */
  readonly backend: string;
  readonly sessionId: string;
  readonly capabilities: Capabilities;
  readonly requiresBridge: boolean;
  /** Successful switches. */
  readonly switches: number;
  /** Wall-clock epoch ms when the last successful switch swapped backends. */
  readonly lastSwitchAt: number | undefined;
  /** Every attempt, successful or rolled back, oldest first. */
  readonly history: readonly SwitchRecord[];
  readonly switching: boolean;
  readonly closed: boolean;
  readonly watches: number;
  readonly programs: readonly ProgramInfo[];
  readonly workers: readonly WorkerInfo[];
}
