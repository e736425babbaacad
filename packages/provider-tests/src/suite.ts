import { randomUUID } from "node:crypto";
import type { Capabilities, InitOptions } from "@dspex/state-provider";
import { batchTests, failureIdentifierTests } from "./cases/batch.js";
import { compareAndSetTests, concurrencyTests } from "./cases/concurrency.js";
import { argumentTests, eventRecordTests, sessionMetadataTests } from "./cases/core-rules.js";
import { exportTests, importCombinationTests } from "./cases/export.js";
import { historyTests } from "./cases/history.js";
import { lifecycleTests } from "./cases/lifecycle.js";
import { DEFAULT_MODEL_RUNS, MODEL_TEST_NAME, modelBasedTests } from "./cases/model-based.js";
import { eventCombinationTests, streamingTests } from "./cases/streaming.js";
import { unclaimedTests } from "./cases/unclaimed.js";
import {
  constraintEdgeTests,
  contractTests,
  deleteTests,
  listTests,
  readTests,
  registerTests,
  writeTests,
} from "./cases/variables.js";
import {
  type AnyProvider,
  type ConformanceTest,
  Session,
  type TestContext,
  within,
} from "./harness.js";

/** Every test of the suite, in the order it registers them. */
const ALL_TESTS: readonly ConformanceTest[] = [
  ...contractTests,
  ...registerTests,
  ...readTests,
  ...writeTests,
  ...constraintEdgeTests,
  ...deleteTests,
  ...listTests,
  ...batchTests,
  ...failureIdentifierTests,
  ...compareAndSetTests,
  ...exportTests,
  ...importCombinationTests,
  ...lifecycleTests,
  ...streamingTests,
  ...eventCombinationTests,
  ...concurrencyTests,
  ...argumentTests,
  ...sessionMetadataTests,
  ...eventRecordTests,
  ...historyTests,
  ...unclaimedTests,
  ...modelBasedTests,
];

export { MODEL_TEST_NAME };

export interface ConformanceTestInfo {
  readonly name: string;
  /** The capability a backend must claim for the test to run; `undefined`: every backend runs it. */
  readonly requires: keyof Capabilities | undefined;
  /** The capability a backend must not claim (the test checks the answer without it), if any. */
  readonly unless: keyof Capabilities | undefined;
}

/** The names of every test and the capability each needs, for authors to read (and to `disable`). */
export const CONFORMANCE_TESTS: readonly ConformanceTestInfo[] = Object.freeze(
  ALL_TESTS.map((test) =>
    Object.freeze({ name: test.name, requires: test.requires, unless: test.unless }),
  ),
);

/** Registers one test: a name and a zero-argument async body (vitest, jest, node:test and mocha all take this). */
export type RegisterTest = (name: string, body: () => Promise<void>) => void;

export interface ConformanceOptions {
  /**
   * Init options for each new state. Must give a `sessionId` unique per call (tests open
   * several sessions at once). Default: `{ sessionId: "conformance_<uuid>" }`.
   */
  readonly initOptions?: () => InitOptions;
  /** Names of tests not to run (see `CONFORMANCE_TESTS`). An unknown name throws, so typos surface. */
  readonly disable?: readonly string[];
  /** Called with each test that does not run and why (missing capability or disabled). Default: not registered at all. */
  readonly skip?: (name: string, reason: string) => void;
  /**
   * Runs once, before the first test body (e.g. start a server), within `setupTimeoutMs`.
   * Under vitest it is a `beforeAll`; with `providerTests` it runs lazily inside the first test
   * that starts, and a failure fails every test.
   */
  readonly setup?: () => unknown | Promise<unknown>;
  /**
   * Runs once, after the last test (e.g. stop the server), within `setupTimeoutMs`. Under vitest
   * it is an `afterAll`; with `providerTests` it runs when the last registered test finishes
   * (a failure fails that test), so it does not run when the runner filters tests out.
   */
  readonly teardown?: () => unknown | Promise<unknown>;
  /** Milliseconds `setup` and `teardown` may each take. Default 60000. */
  readonly setupTimeoutMs?: number;
  /**
   * An independent provider instance on the same storage as `provider` (its own connections),
   * for the `[distribution]` tests: two instances share a session and hear each other's
   * changes. Called once per test that needs it. Default: the provider itself.
   */
  readonly secondInstance?: () => AnyProvider | Promise<AnyProvider>;
  /**
   * A provider as a freshly started process would have it (no memory of this one), for the
   * `[persistence]` tests: write, cleanup, restart, read back. Called anew for each restart.
   * Default: the provider itself, which proves less; `childProcessProvider` makes a real one.
   */
  readonly restart?: () => AnyProvider | Promise<AnyProvider>;
  /**
   * Random command sequences the model-based test runs (each on a fresh session). Default
   * 60; raise it for a longer search, e.g. in a nightly job.
   */
  readonly modelRuns?: number;
  /** The model-based test's seed, to replay a failure (its message names the seed). Default: random. */
  readonly modelSeed?: number;
  /** Runs before each test body (e.g. start a server). */
  readonly beforeEach?: () => void | Promise<void>;
  /** Runs after each test body, after the suite has cleaned up every state the test opened. */
  readonly afterEach?: () => void | Promise<void>;
  /** Milliseconds a single cleanup, call-after-cleanup or awaited event may take. Default 5000. */
  readonly timeoutMs?: number;
  /**
   * Whether "cleanup leaves no timers, sockets or other handles behind" runs: it records the
   * handles created between init and cleanup (`node:async_hooks`) and fails on any left open.
   * Default true; `false` reports the test as skipped. Turn it off only when something outside
   * the backend starts handles during tests.
   */
  readonly resourceCheck?: boolean;
}

export interface ConformanceReport {
  readonly registered: readonly string[];
  readonly skipped: readonly { readonly name: string; readonly reason: string }[];
}

function defaultInitOptions(): InitOptions {
  return { sessionId: `conformance_${randomUUID()}` };
}

/**
 * Registers the conformance suite for `provider` through `test`: one call per test that the
 * backend's capabilities allow. Tests assert with `node:assert/strict`, so any runner works.
 *
 * ```ts
 * import { test } from "node:test";
 * providerTests(test, MyBackend);
 * ```
 */
export function providerTests(
  test: RegisterTest,
  provider: AnyProvider,
  options: ConformanceOptions = {},
): ConformanceReport {
  const lifecycle = onceAround(options);
  const registered: (() => Promise<void>)[] = [];
  const report = registerSuite(
    (name, body) => {
      registered.push(body);
      test(name, () => lifecycle.run(body));
    },
    provider,
    options,
  );
  lifecycle.total = registered.length;
  return report;
}

/**
 * `setup` before the first test body and `teardown` after the last one, for runners without
 * suite hooks: setup is shared by every test (a failure fails them all), teardown runs when
 * as many tests have finished as were registered.
 */
function onceAround(options: ConformanceOptions) {
  const limit = options.setupTimeoutMs ?? 60_000;
  let setup: Promise<unknown> | undefined;
  let finished = 0;
  const state = {
    total: 0,
    async run(body: () => Promise<void>): Promise<void> {
      let failure: unknown;
      try {
        setup ??= options.setup
          ? within(Promise.resolve().then(options.setup), limit, "options.setup")
          : Promise.resolve();
        await setup;
        await body();
      } catch (error) {
        failure = error;
      }
      finished++;
      if (finished === state.total && options.teardown) {
        try {
          await within(Promise.resolve().then(options.teardown), limit, "options.teardown");
        } catch (error) {
          failure ??= error;
        }
      }
      if (failure !== undefined) throw failure;
    },
  };
  return state;
}

/** What an entry registers: the test's name, its body and its definition (for per-test timeouts). */
export type RegisterDefinition = (
  name: string,
  body: () => Promise<void>,
  definition: ConformanceTest,
) => void;

/** Registers every runnable test through `test`; the entries add their own lifecycle around it. */
export function registerSuite(
  test: RegisterDefinition,
  provider: AnyProvider,
  options: ConformanceOptions,
): ConformanceReport {
  if (typeof test !== "function")
    throw new TypeError("providerTests: the first argument must be a test-registration function");
  if (
    typeof provider !== "object" ||
    provider === null ||
    typeof provider.capabilities !== "function"
  ) {
    throw new TypeError("providerTests: the second argument must be a StateProvider");
  }
  const disabled = new Set(options.disable ?? []);
  for (const name of disabled) {
    if (!ALL_TESTS.some((t) => t.name === name))
      throw new TypeError(`providerTests: disable names no test: ${JSON.stringify(name)}`);
  }
  const capabilities = provider.capabilities();
  const registered: string[] = [];
  const skipped: { name: string; reason: string }[] = [];
  for (const definition of ALL_TESTS) {
    let reason: string | undefined;
    if (disabled.has(definition.name)) reason = "disabled by options.disable";
    else if (definition.resourceCheck && options.resourceCheck === false)
      reason = "disabled by options.resourceCheck";
    else if (definition.requires !== undefined && capabilities[definition.requires] !== true) {
      reason = `${provider.name} does not claim capability ${definition.requires}`;
    } else if (definition.unless !== undefined && capabilities[definition.unless] === true) {
      reason = `${provider.name} claims capability ${definition.unless} (tested by its [${definition.unless}] tests)`;
    }
    if (reason !== undefined) {
      skipped.push({ name: definition.name, reason });
      options.skip?.(definition.name, reason);
      continue;
    }
    registered.push(definition.name);
    test(definition.name, () => runOne(definition, provider, capabilities, options), definition);
  }
  return { registered, skipped };
}

function checkedInstance(instance: AnyProvider, hook: string): AnyProvider {
  if (typeof instance !== "object" || instance === null || typeof instance.init !== "function")
    throw new TypeError(`providerTests: options.${hook}() must give a StateProvider`);
  return instance;
}

async function runOne(
  definition: ConformanceTest,
  provider: AnyProvider,
  capabilities: Capabilities,
  options: ConformanceOptions,
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const makeInitOptions = options.initOptions ?? defaultInitOptions;
  const opened: Session[] = [];
  let second: Promise<AnyProvider> | undefined;
  const close = async (session: Session) => {
    await within(
      Promise.resolve(session.provider.cleanup(session.state)),
      timeoutMs,
      `${session.provider.name}.cleanup`,
    );
  };
  const openOn = async (on: AnyProvider, extra: Partial<InitOptions>) => {
    const initOptions = { ...makeInitOptions(), ...extra };
    if (typeof initOptions.sessionId !== "string") {
      throw new TypeError("providerTests: options.initOptions() must return a sessionId");
    }
    const result = await within(on.init(initOptions), timeoutMs, `${on.name}.init`);
    if (!result.ok)
      throw new Error(`${on.name}.init failed with ${result.error.code}: ${result.error.message}`);
    const session = new Session(on, result.value, initOptions.sessionId);
    opened.push(session);
    return session;
  };
  const context: TestContext = {
    provider,
    capabilities,
    timeoutMs,
    initOptions: makeInitOptions,
    open: (extra = {}) => openOn(provider, extra),
    async openSecond(extra = {}) {
      second ??= options.secondInstance
        ? within(
            Promise.resolve().then(options.secondInstance),
            timeoutMs,
            "options.secondInstance",
          ).then((instance) => checkedInstance(instance, "secondInstance"))
        : Promise.resolve(provider);
      return openOn(await second, extra);
    },
    async openRestarted(extra = {}) {
      const instance = options.restart
        ? checkedInstance(
            await within(Promise.resolve().then(options.restart), timeoutMs, "options.restart"),
            "restart",
          )
        : provider;
      return openOn(instance, extra);
    },
    model: { runs: options.modelRuns ?? DEFAULT_MODEL_RUNS, seed: options.modelSeed },
    hooks: {
      secondInstance: options.secondInstance !== undefined,
      restart: options.restart !== undefined,
    },
    close,
    within: (promise, what) => within(promise, timeoutMs, what),
  };
  await options.beforeEach?.();
  let failure: unknown;
  try {
    await definition.run(context);
  } catch (error) {
    failure = error;
  }
  // Every state a test opened is cleaned up, also when the test failed, so nothing leaks into the next.
  for (const session of opened) {
    try {
      await close(session);
    } catch (error) {
      failure ??= error;
    }
  }
  try {
    await options.afterEach?.();
  } catch (error) {
    failure ??= error;
  }
  if (failure !== undefined) throw failure;
}
