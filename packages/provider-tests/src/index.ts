export {
  type ChildProcessProvider,
  type ChildProcessProviderOptions,
  type ChildState,
  childProcessProvider,
} from "./child-process.js";
export type { AnyProvider } from "./harness.js";
export {
  CONFORMANCE_TESTS,
  type ConformanceOptions,
  type ConformanceReport,
  type ConformanceTestInfo,
  MODEL_TEST_NAME,
  providerTests,
  type RegisterTest,
} from "./suite.js";
