import type { StateProvider } from "../contract.js";
import type { BackendKind } from "./types.js";

/** A provider of any state type; the Context threads the state without looking inside. */
export type AnyProvider = StateProvider<unknown>;

/**
 * One initialised backend: the provider and its threaded state. Counts the calls in flight so
 * a backend is cleaned up only after the reads that started on it have answered.
 */
export class BackendSlot {
  readonly kind: BackendKind;
  readonly provider: AnyProvider;
  state: unknown;
  /** Set when the Context stops using this backend: its events are no longer delivered. */
  retired = false;
  #inflight = 0;
  #idle: (() => void)[] = [];

  constructor(kind: BackendKind, provider: AnyProvider, state: unknown) {
    this.kind = kind;
    this.provider = provider;
    this.state = state;
  }

  async track<T>(call: (slot: BackendSlot) => Promise<T>): Promise<T> {
    this.#inflight++;
    try {
      return await call(this);
    } finally {
      if (--this.#inflight === 0) {
        const waiting = this.#idle;
        this.#idle = [];
        for (const resolve of waiting) resolve();
      }
    }
  }

  /** Resolves once no call is in flight on this backend. */
  whenIdle(): Promise<void> {
    if (this.#inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /**
   * Cleans up the backend's state once its calls have answered. A cleanup that throws is a bug
   * in that backend: it is reported, not rethrown, because nothing is left to roll back to.
   */
  async release(): Promise<void> {
    this.retired = true;
    await this.whenIdle();
    try {
      await this.provider.cleanup(this.state);
    } catch (error) {
      console.error(`dspex: ${this.provider.name}.cleanup threw:`, error);
    }
  }
}
