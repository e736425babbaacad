export { Context } from "./context.js";
export type {
  BackendKind,
  ContextInfo,
  ContextOptions,
  ProgramDeclaration,
  ProgramInfo,
  ProviderFactory,
  SetOptions,
  SwitchRecord,
  SwitchStep,
  UpdateManyOptions,
  Watch,
  WatchCallback,
  WorkerDeclaration,
  WorkerInfo,
} from "./types.js";
