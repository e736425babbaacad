import { describe, test } from "vitest";
import type { AnyProvider } from "./harness.js";
import { type ConformanceOptions, type ConformanceReport, providerTests } from "./suite.js";

export type VitestConformanceOptions = Omit<ConformanceOptions, "skip">;

/**
 * The conformance suite as one vitest `describe` block. Tests for capabilities the backend does
 * not claim show as skipped, with the missing capability in their name.
 *
 * ```ts
 * runConformanceSuite(MyBackend);
 * ```
 */
export function runConformanceSuite(
  provider: AnyProvider,
  options: VitestConformanceOptions = {},
): ConformanceReport {
  let report: ConformanceReport | undefined;
  describe(`StateProvider conformance: ${provider.name}`, () => {
    report = providerTests(
      (name, body) => test(name, body, (options.timeoutMs ?? 5000) * 4),
      provider,
      {
        ...options,
        skip: (name, reason) => test.skip(`${name} (skipped: ${reason})`, () => {}),
      },
    );
  });
  return report!;
}
