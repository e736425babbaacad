import { randomUUID } from "node:crypto";
import type { Capabilities, InitOptions } from "@dspex/state-provider";
import { batchTests } from "./cases/batch.js";
import { compareAndSetTests, concurrencyTests } from "./cases/concurrency.js";
import { argumentTests, eventRecordTests, sessionMetadataTests } from "./cases/core-rules.js";
import { exportTests } from "./cases/export.js";
import { historyTests } from "./cases/history.js";
import { lifecycleTests } from "./cases/lifecycle.js";
import { streamingTests } from "./cases/streaming.js";
import {
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
  ...deleteTests,
  ...listTests,
  ...batchTests,
  ...compareAndSetTests,
  ...exportTests,
  ...lifecycleTests,
  ...streamingTests,
  ...concurrencyTests,
  ...argumentTests,
  ...sessionMetadataTests,
  ...eventRecordTests,
  ...historyTests,
];

export interface ConformanceTestInfo {
  readonly name: string;
  /** The capability a backend must claim for the test to run; `undefined`: every backend runs it. */
  readonly requires: keyof Capabilities | undefined;
}

/** The names of every test and the capability each needs, for authors to read (and to `disable`). */
export const CONFORMANCE_TESTS: readonly ConformanceTestInfo[] = Object.freeze(
  ALL_TESTS.map((test) => Object.freeze({ name: test.name, requires: test.requires })),
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
    }
    if (reason !== undefined) {
      skipped.push({ name: definition.name, reason });
      options.skip?.(definition.name, reason);
      continue;
    }
    registered.push(definition.name);
    test(definition.name, () => runOne(definition, provider, capabilities, options));
  }
  return { registered, skipped };
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
  const close = async (session: Session) => {
    await within(
      Promise.resolve(session.provider.cleanup(session.state)),
      timeoutMs,
      `${provider.name}.cleanup`,
    );
  };
  const context: TestContext = {
    provider,
    capabilities,
    timeoutMs,
    initOptions: makeInitOptions,
    async open(extra = {}) {
      const initOptions = { ...makeInitOptions(), ...extra };
      if (typeof initOptions.sessionId !== "string") {
        throw new TypeError("providerTests: options.initOptions() must return a sessionId");
      }
      const result = await within(provider.init(initOptions), timeoutMs, `${provider.name}.init`);
      if (!result.ok)
        throw new Error(
          `${provider.name}.init failed with ${result.error.code}: ${result.error.message}`,
        );
      const session = new Session(provider, result.value, initOptions.sessionId);
      opened.push(session);
      return session;
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
