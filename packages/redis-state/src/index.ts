export type { RedisVariableEvent } from "./feed.js";
export { escapeSessionId } from "./keys.js";
export type { RedisSession } from "./redis-session.js";
export { RedisState, type RedisStateOptions } from "./redis-state.js";
