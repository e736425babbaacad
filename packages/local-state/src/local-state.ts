import type { StateProvider, SubscriberErrorHandler } from "@dspex/state-provider";
import {
  defineProvider,
  openTableSession,
  storeLimits,
  TABLE_CAPABILITIES,
  type TableSession,
} from "@dspex/state-provider/backend";

/** The state LocalState hands out. Opaque: thread it through calls; every call returns the same handle. */
export interface LocalStateHandle {
  readonly sessionId: string;
}

export interface LocalStateOptions {
  /** Where errors thrown by subscribers go (default: `console.error`). They never reach the writer. */
  readonly onSubscriberError?: SubscriberErrorHandler;
  /** Versions `getVariableHistory` keeps per variable, the current one included. Default 100. */
  readonly maxVersionsPerVariable?: number;
}

/** Creates a LocalState provider. `LocalState` is the default instance. */
export function createLocalState(options: LocalStateOptions = {}): StateProvider<LocalStateHandle> {
  const { onSubscriberError, maxVersionsPerVariable } = options;
  const limits =
    maxVersionsPerVariable === undefined
      ? undefined
      : storeLimits({ maxVersionsPerVariable }, "LocalState");
  // Each session is a VariableTable of the backend core, so every rule (arguments,
  // compare-and-set, batches, import, events) is the core's; what is left here is where the
  // variables live: in this process's memory.
  return defineProvider<TableSession>({
    name: "LocalState",
    capabilities: TABLE_CAPABILITIES,
    requiresBridge: false,
    sessionIdPrefix: "local",
    open: (request) =>
      openTableSession(request, {
        ...(onSubscriberError === undefined ? {} : { onSubscriberError }),
        ...(limits === undefined ? {} : { limits }),
      }),
  }) as StateProvider<LocalStateHandle>;
}

/** The in-process backend: variables live in this process, reads and writes are synchronous underneath. */
export const LocalState: StateProvider<LocalStateHandle> = createLocalState();
