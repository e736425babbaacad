export {
  BridgedSession,
  BridgedState,
  type BridgedStateOptions,
  createBridgedState,
  type ServeOptions,
} from "./bridged-state.js";
export type { ReadCacheStats } from "./client/read-cache.js";
export {
  createRemoteState,
  DEFAULT_KEEPALIVE_TIME_MS,
  DEFAULT_KEEPALIVE_TIMEOUT_MS,
  RemoteSession,
  RemoteState,
  type RemoteStateOptions,
} from "./client/remote-state.js";
export {
  BridgeServer,
  type BridgeServerOptions,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_MAX_MESSAGE_BYTES,
  MIN_PING_INTERVAL_MS,
  type TlsOptions,
} from "./server/bridge-server.js";
export { Inspector, type InspectorOptions } from "./server/inspector.js";
export { DEFAULT_REQUEST_LIMITS, type RequestLimits } from "./server/request-guard.js";
export {
  ALWAYS_AVAILABLE,
  type BatchApplied,
  type BridgeStore,
  type ReadOptions,
  type SetOptions,
  type StoreHealth,
  type StoreWatch,
  type UpdateOptions,
  type WatchListener,
} from "./store/bridge-store.js";
export { MemoryBridgeStore } from "./store/memory-bridge-store.js";
export {
  type BatchGet,
  type BatchOptions,
  type CreateSessionOptions,
  type PendingValue,
  type RegisterInput,
  type SessionEndReason,
  type SessionInfo,
  SessionStore,
  type SessionStoreOptions,
  type SessionStoreStats,
} from "./store/session-store.js";
export {
  BINARY_MIN_ELEMENTS,
  type BinaryDtype,
  type BinaryHeader,
  decodeBinary,
  encodeBinary,
  wantsBinary,
} from "./wire/binary-format.js";
export { protoPath, SERVICE_NAME } from "./wire/proto.js";
export { ERROR_TRAILER, fromServiceError, statusFor } from "./wire/status.js";
