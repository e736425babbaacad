export type { AnyProvider } from "./harness.js";
export {
  CONFORMANCE_TESTS,
  type ConformanceOptions,
  type ConformanceReport,
  type ConformanceTestInfo,
  providerTests,
  type RegisterTest,
} from "./suite.js";
