export type { RedisVariableEvent } from "./feed.js";
export { escapeSessionId } from "./keys.js";
export type { RedisSession, Resumed } from "./redis-session.js";
export {
  type ListSessionsOptions,
  type PingAnswer,
  type RedisSessionInfo,
  RedisState,
  type RedisStateOptions,
  type Release,
  type SessionList,
} from "./redis-state.js";
