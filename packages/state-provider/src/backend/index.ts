/**
 * `@dspex/state-provider/backend`: what a backend author builds on. The contract's rules live
 * here once (caller arguments, closed state, compare-and-set, batches, the import merge, limits),
 * so a backend holds storage only.
 */
export {
  type BackendOptions,
  BackendProvider,
  BackendSession,
  checkSessionId,
  checkSubscription,
  defineProvider,
  type MaybePromise,
  type OpenRequest,
  type ProviderDefinition,
  type Versioned,
} from "./define-provider.js";
export { EncodedValue } from "./encoded-value.js";
export { newVariableId } from "./ids.js";
export {
  checkStoredMetadata,
  checkValueSize,
  DEFAULT_LIMITS,
  type StoreLimits,
  storeLimits,
} from "./limits.js";
export { MemoryProvider, type MemoryProviderOptions } from "./memory-provider.js";
export { define, own } from "./own-keys.js";
export {
  type BatchPlan,
  batchOutcome,
  type Change,
  changeEvent,
  checkWriteMetadata,
  type ImportPlan,
  initialSessionMetadata,
  type PlanContext,
  planBatch,
  planDelete,
  planImport,
  planRegistration,
  planWrite,
  planWriteTo,
  type RecordView,
} from "./plans.js";
export {
  openTableSession,
  TABLE_CAPABILITIES,
  TableSession,
  type TableSessionOptions,
} from "./table-session.js";
export { VariableTable, type VariableTableOptions, versionOf } from "./variable-table.js";
