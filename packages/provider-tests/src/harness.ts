import assert from "node:assert/strict";
import type {
  BatchWriteOptions,
  Capabilities,
  ErrorCode,
  InitOptions,
  Metadata,
  RegisterOptions,
  Result,
  StateError,
  StateProvider,
  Subscriber,
  VariableEvent,
  VariableRecord,
  VariableType,
  WriteOptions,
} from "@dspex/state-provider";

/** What the conformance suite needs from a backend: any `StateProvider`, whatever its state type. */
// biome-ignore lint/suspicious/noExplicitAny: the state type is the backend's; the suite only threads it.
export type AnyProvider = StateProvider<any>;

/**
 * One live state under test. It threads the state each mutating call returns into the next
 * call, so test bodies read like application code, and it gives back the raw `Result`.
 */
export class Session {
  constructor(
    readonly provider: AnyProvider,
    public state: unknown,
    readonly sessionId: string,
  ) {}

  async register(name: string, type: VariableType, value: unknown, options?: RegisterOptions) {
    const result = await this.provider.registerVariable(this.state, name, type, value, options);
    if (result.ok) this.state = result.value.state;
    return result;
  }
  get(identifier: string) {
    return this.provider.getVariable(this.state, identifier);
  }
  record(identifier: string) {
    return this.provider.getVariableRecord(this.state, identifier);
  }
  async set(identifier: string, value: unknown, metadata?: Metadata, options?: WriteOptions) {
    const result = await this.provider.setVariable(
      this.state,
      identifier,
      value,
      metadata,
      options,
    );
    if (result.ok) this.state = result.value.state;
    return result;
  }
  list() {
    return this.provider.listVariables(this.state);
  }
  getMany(identifiers: readonly string[]) {
    return this.provider.getVariables(this.state, identifiers);
  }
  async update(updates: Record<string, unknown>, metadata?: Metadata, options?: BatchWriteOptions) {
    const result = await this.provider.updateVariables(this.state, updates, metadata, options);
    if (result.ok) this.state = result.value.state;
    return result;
  }
  async delete(identifier: string) {
    const result = await this.provider.deleteVariable(this.state, identifier);
    if (result.ok) this.state = result.value.state;
    return result;
  }
  export() {
    return this.provider.exportState(this.state);
  }
  async import(document: unknown) {
    const result = await this.provider.importState(this.state, document);
    if (result.ok) this.state = result.value.state;
    return result;
  }
  subscribe(pattern: string, subscriber: Subscriber) {
    assert.ok(
      this.provider.subscribe,
      `${this.provider.name} claims streaming but has no subscribe`,
    );
    return this.provider.subscribe(this.state, pattern, subscriber);
  }
  unsubscribe(subscription: string) {
    assert.ok(
      this.provider.unsubscribe,
      `${this.provider.name} claims streaming but has no unsubscribe`,
    );
    return this.provider.unsubscribe(this.state, subscription);
  }

  /** Registers and returns the id, failing the test on an error. */
  async add(
    name: string,
    type: VariableType,
    value: unknown,
    options?: RegisterOptions,
  ): Promise<string> {
    return must(await this.register(name, type, value, options), `registerVariable(${name})`).id;
  }
  /** The record, failing the test on an error. */
  async mustRecord(identifier: string): Promise<VariableRecord> {
    return must(await this.record(identifier), `getVariableRecord(${identifier})`);
  }
  async mustList(): Promise<readonly VariableRecord[]> {
    return must(await this.list(), "listVariables");
  }
}

/** Everything a test body gets. */
export interface TestContext {
  readonly provider: AnyProvider;
  readonly capabilities: Capabilities;
  /** Milliseconds any single call, a cleanup or an expected event may take. */
  readonly timeoutMs: number;
  /** Fresh init options from the author's factory (a new session id each call). */
  initOptions(): InitOptions;
  /** Inits a new state (closed by the harness after the test) and fails the test on an error. */
  open(extra?: Partial<InitOptions>): Promise<Session>;
  /**
   * Like `open`, on the author's `secondInstance` (an independent instance on the same storage),
   * or on the provider itself when there is none. One instance per test, made at the first call.
   */
  openSecond(extra?: Partial<InitOptions>): Promise<Session>;
  /**
   * Like `open`, on a provider as a freshly started process would have it: the author's
   * `restart` (called anew each time), or the provider itself when there is none.
   */
  openRestarted(extra?: Partial<InitOptions>): Promise<Session>;
  /** Runs and seed of the model-based test (`modelRuns`, `modelSeed`). */
  readonly model: { readonly runs: number; readonly seed: number | undefined };
  /** Whether the author gave `secondInstance` / `restart` (messages say what was tested). */
  readonly hooks: { readonly secondInstance: boolean; readonly restart: boolean };
  /** Cleans up a session now, within the timeout. */
  close(session: Session): Promise<void>;
  /** Rejects when `promise` does not settle within the timeout. */
  within<T>(promise: Promise<T>, what: string): Promise<T>;
}

export interface ConformanceTest {
  /** Unique, stable; starts with `[capability]` when the test needs one. */
  readonly name: string;
  /** The capability the backend must claim for this test to run. */
  readonly requires?: keyof Capabilities;
  /** The capability the backend must NOT claim: the test checks the documented answer without it. */
  readonly unless?: keyof Capabilities;
  /** The leak check, which `options.resourceCheck: false` turns off (reported as skipped). */
  readonly resourceCheck?: true;
  /** A longer per-test timeout for runners that take one (the model-based test). */
  readonly minimumTimeoutMs?: number;
  readonly run: (context: TestContext) => Promise<void>;
}

function describeError(error: StateError): string {
  return `${error.code}: ${error.message}`;
}

/** The value of an ok result; otherwise fails with the backend's error. */
export function must<T>(result: Result<T>, what: string): T {
  if (!result.ok) assert.fail(`${what} failed with ${describeError(result.error)}`);
  return result.value;
}

/** The error of a failed result, asserting its code. */
export function mustFail<C extends ErrorCode>(
  result: Result<unknown>,
  code: C,
  what: string,
): Extract<StateError, { code: C }> {
  if (result.ok) assert.fail(`${what} succeeded; expected ${code}`);
  assert.equal(
    result.error.code,
    code,
    `${what}: expected ${code}, got ${describeError(result.error)}`,
  );
  assert.equal(typeof result.error.message, "string", `${what}: the error has no message`);
  assert.ok(result.error.message.length > 0, `${what}: the error message is empty`);
  return result.error as Extract<StateError, { code: C }>;
}

/** The fields of a record as a plain object, to compare records across backends and copies. */
export function plainRecord(record: VariableRecord) {
  return {
    id: record.id,
    name: record.name,
    type: record.type,
    value: record.value,
    constraints: { ...record.constraints },
    metadata: { ...record.metadata },
    version: record.version,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    source: record.source,
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects when `promise` does not settle within `ms`; never leaves its timer behind. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new assert.AssertionError({ message: `${what} did not finish within ${ms} ms` })),
      ms,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until `done()` holds (events of remote backends arrive asynchronously). */
export async function eventually(done: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) assert.fail(`${what} (waited ${ms} ms)`);
    await sleep(2);
  }
}

/** Collects events from a subscription. */
export function recorder(): { events: VariableEvent[]; subscriber: Subscriber } {
  const events: VariableEvent[] = [];
  return { events, subscriber: (event) => void events.push(event) };
}
