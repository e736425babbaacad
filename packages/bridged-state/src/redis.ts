/**
 * `@dspex/bridged-state/redis`: a bridge store on Redis, so many `dspex-bridge` processes serve
 * the same sessions. A subpath of its own, so the main entry never loads a Redis client.
 */
export { RedisBridgeStore, type RedisBridgeStoreOptions } from "./store/redis-bridge-store.js";
