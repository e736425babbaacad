import type { Subscriber, SubscriptionId, VariableEvent } from "./contract.js";
import { compilePattern, type NameMatcher } from "./pattern.js";

export type SubscriberErrorHandler = (error: unknown, event: VariableEvent) => void;

const reportToConsole: SubscriberErrorHandler = (error, event) => {
  console.error(
    `dspex: a subscriber threw on ${event.kind} of ${JSON.stringify(event.name)}:`,
    error,
  );
};

/**
 * The subscriptions of one session: glob pattern → callback. Backends call `emit` after a
 * change commits. A subscriber that throws is reported and skipped: it never breaks the writer
 * or the subscribers after it.
 */
export class SubscriberSet {
  readonly #entries = new Map<
    SubscriptionId,
    { matches: NameMatcher; subscriber: Subscriber; seq: number }
  >();
  readonly #onError: SubscriberErrorHandler;
  #next = 0;

  constructor(onError: SubscriberErrorHandler = reportToConsole) {
    this.#onError = onError;
  }

  get size(): number {
    return this.#entries.size;
  }

  add(pattern: string, subscriber: Subscriber): SubscriptionId {
    const seq = ++this.#next;
    const id = `sub_${seq}`;
    this.#entries.set(id, { matches: compilePattern(pattern), subscriber, seq });
    return id;
  }

  /** Idempotent: removing an unknown id does nothing. */
  remove(id: SubscriptionId): void {
    this.#entries.delete(id);
  }

  clear(): void {
    this.#entries.clear();
  }

  emit(event: VariableEvent): void {
    if (this.#entries.size === 0) return;
    // A subscriber added by a callback during this emit subscribed after the change committed:
    // it gets later events only. Entries iterate in insertion order, so stop at the first one.
    const last = this.#next;
    for (const { matches, subscriber, seq } of this.#entries.values()) {
      if (seq > last) break;
      if (!matches(event.name)) continue;
      try {
        subscriber(event);
      } catch (error) {
        try {
          this.#onError(error, event);
        } catch {
          // An error handler that throws must not break the writer either.
        }
      }
    }
  }
}
