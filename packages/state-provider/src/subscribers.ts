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
 * or the subscribers after it. A subscriber that writes from its callback commits a new change
 * mid-delivery: that event waits until every subscriber has heard the current one, so all of
 * them hear changes in commit order.
 */
export class SubscriberSet {
  readonly #entries = new Map<
    SubscriptionId,
    { matches: NameMatcher; subscriber: Subscriber; seq: number }
  >();
  readonly #onError: SubscriberErrorHandler;
  #next = 0;
  /** Events emitted while earlier ones are being delivered, with the last subscriber then. */
  readonly #queue: { event: VariableEvent; last: number }[] = [];
  #delivering = false;

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
    this.emitAll([event]);
  }

  /**
   * Emits the events of one commit (a batch, an import) in order. They are queued together, so
   * a change a subscriber makes meanwhile is heard after all of them, as it committed after.
   */
  emitAll(events: readonly VariableEvent[]): void {
    if (this.#entries.size === 0 && !this.#delivering) return;
    // A subscriber added after the change committed (by a callback) gets later events only.
    for (const event of events) this.#queue.push({ event, last: this.#next });
    if (this.#delivering) return;
    this.#delivering = true;
    try {
      // The queue may grow while it is walked: writes made by subscribers.
      for (let i = 0; i < this.#queue.length; i++) {
        const { event, last } = this.#queue[i] as { event: VariableEvent; last: number };
        this.#deliver(event, last);
      }
    } finally {
      this.#queue.length = 0;
      this.#delivering = false;
    }
  }

  #deliver(event: VariableEvent, last: number): void {
    // Entries iterate in insertion order, so the first one added too late ends the walk.
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
