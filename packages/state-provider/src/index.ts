export * from "./context/index.js";
export type {
  BatchWriteOptions,
  BatchWritten,
  Capabilities,
  Changed,
  DeleteOptions,
  HistoryOptions,
  Identifier,
  InitOptions,
  Metadata,
  Registered,
  RegisterOptions,
  Source,
  StateOf,
  StateProvider,
  Subscriber,
  SubscriptionId,
  VariableEvent,
  VariableEventKind,
  VariableId,
  VariableRecord,
  VariableVersion,
  WriteOptions,
  Written,
} from "./contract.js";
export { CONTRACT_VERSION } from "./contract.js";
export * from "./errors.js";
export * from "./export-format.js";
export * from "./pattern.js";
export * from "./provider.js";
export * from "./records.js";
export * from "./result.js";
export * from "./subscribers.js";
export * from "./types/index.js";
