import type { Capabilities } from "../contract.js";
import type { Result } from "../result.js";
import { BackendProvider, type OpenRequest } from "./define-provider.js";
import type { StoreLimits } from "./limits.js";
import { openTableSession, type TableSession } from "./table-session.js";

export interface MemoryProviderOptions {
  /** Default `MemoryProvider`. */
  readonly name?: string;
  /** Default false. */
  readonly requiresBridge?: boolean;
  readonly limits?: StoreLimits;
}

const CAPABILITIES: Capabilities = Object.freeze({
  atomicUpdates: true,
  streaming: true,
  persistence: false,
  distribution: false,
  compareAndSet: true,
  history: true,
});

/**
 * The smallest complete backend: sessions in this process, each a `TableSession`. It is the
 * worked example of the backend guide (the whole backend is `open`); tests use it as a second
 * in-process backend to switch a Context between.
 */
export class MemoryProvider extends BackendProvider<TableSession> {
  readonly #limits: StoreLimits | undefined;

  constructor(options: MemoryProviderOptions = {}) {
    super({
      name: options.name ?? "MemoryProvider",
      capabilities: CAPABILITIES,
      requiresBridge: options.requiresBridge ?? false,
      ...(options.limits === undefined ? {} : { limits: options.limits }),
    });
    this.#limits = options.limits;
  }

  protected open(request: OpenRequest): Result<TableSession> {
    return openTableSession(request, this.#limits === undefined ? {} : { limits: this.#limits });
  }
}
