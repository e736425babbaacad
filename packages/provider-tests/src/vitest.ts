import { afterAll, beforeAll, describe, test } from "vitest";
import type { AnyProvider } from "./harness.js";
import { type ConformanceOptions, type ConformanceReport, registerSuite } from "./suite.js";

export type VitestConformanceOptions = Omit<ConformanceOptions, "skip">;

/**
 * The conformance suite as one vitest `describe` block. Tests for capabilities the backend does
 * not claim show as skipped, with the missing capability in their name. `setup` and `teardown`
 * run as the block's `beforeAll` / `afterAll`.
 *
 * ```ts
 * runConformanceSuite(MyBackend);
 * ```
 */
export function runConformanceSuite(
  provider: AnyProvider,
  options: VitestConformanceOptions = {},
): ConformanceReport {
  const { setup, teardown, setupTimeoutMs = 60_000, ...perTest } = options;
  const testTimeout = (options.timeoutMs ?? 5000) * 4;
  let report: ConformanceReport | undefined;
  describe(`StateProvider conformance: ${provider.name}`, () => {
    if (setup) beforeAll(async () => void (await setup()), setupTimeoutMs);
    if (teardown) afterAll(async () => void (await teardown()), setupTimeoutMs);
    report = registerSuite(
      (name, body, definition) =>
        test(name, body, Math.max(testTimeout, definition.minimumTimeoutMs ?? 0)),
      provider,
      {
        ...perTest,
        skip: (name, reason) => test.skip(`${name} (skipped: ${reason})`, () => {}),
      },
    );
  });
  return report!;
}
