import type { Capabilities } from "@dspex/state-provider";

/**
 * What both bridge backends deliver: the SessionStore's atomic batches, compare-and-set and
 * events, shared with other processes over gRPC (Python workers, RemoteState); each variable's
 * last `maxVersionsPerVariable` versions (default 100) as its history. Not persisted.
 */
export const BRIDGE_CAPABILITIES: Capabilities = Object.freeze({
  atomicUpdates: true,
  streaming: true,
  persistence: false,
  distribution: true,
  compareAndSet: true,
  history: true,
});
