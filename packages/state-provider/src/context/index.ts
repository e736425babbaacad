export { Context } from "./context.js";
export type {
  BackendKind,
  ContextInfo,
  ContextOptions,
  ProgramDeclaration,
  ProgramInfo,
  ProviderFactory,
  SetOptions,
  StateNeeds,
  SwitchRecord,
  SwitchStep,
  UpdateManyOptions,
  Watch,
  WatchCallback,
  WorkerDeclaration,
  WorkerInfo,
} from "./types.js";
