import type { AnyProvider } from "../src/harness.js";
import { type ConformanceOptions, providerTests } from "../src/index.js";

export interface SuiteOutcome {
  readonly passed: string[];
  readonly failed: Map<string, string>;
  readonly skipped: string[];
  /** The whole message of each failure. */
  readonly messages: Map<string, string>;
}

/** Runs the suite in-process (no test runner): the core API is just "register name + body". */
export async function runSuite(
  provider: AnyProvider,
  options: ConformanceOptions = {},
): Promise<SuiteOutcome> {
  const tests: [string, () => Promise<void>][] = [];
  const report = providerTests((name, body) => tests.push([name, body]), provider, {
    timeoutMs: 250,
    ...options,
  });
  const passed: string[] = [];
  const failed = new Map<string, string>();
  const messages = new Map<string, string>();
  for (const [name, body] of tests) {
    try {
      await body();
      passed.push(name);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      failed.set(name, message.split("\n")[0]!);
      messages.set(name, message);
    }
  }
  return { passed, failed, skipped: report.skipped.map((s) => s.name), messages };
}
