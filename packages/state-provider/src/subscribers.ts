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
  readonly #entries = new Map<SubscriptionId, Entry>();
  /**
   * The index that keeps a write's cost independent of subscribers it does not concern: by the
   * literal text before a pattern's first wildcard (its whole text when it has none). A name
   * can only match a pattern whose literal prefix it starts with, so only those are tested.
   * Patterns starting with a wildcard (`*`, `?x`) are tested on every event.
   */
  #unprefixed: readonly Entry[] = [];
  /**
   * prefix length → prefix → entries, each list in subscription order. Lists are replaced, never
   * changed, so a delivery walks the list it started with whatever its callbacks do.
   */
  readonly #byPrefix = new Map<number, Map<string, readonly Entry[]>>();
  /** name → its candidates, for names written again (dropped whenever a subscription changes). */
  #candidatesOf = new Map<string, readonly Entry[]>();
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
    const prefix = literalPrefix(pattern);
    // A prefix ending in half a surrogate pair matches by code point only: the matcher decides.
    const kind =
      prefix === pattern
        ? EXACT
        : pattern === `${prefix}*` && !endsInHighSurrogate(prefix)
          ? PREFIX
          : compilePattern(pattern);
    const entry: Entry = { kind, subscriber, seq, prefix, live: true };
    this.#entries.set(id, entry);
    this.#replaceList(prefix, [...this.#listOf(prefix), entry]);
    return id;
  }

  /** Idempotent: removing an unknown id does nothing. */
  remove(id: SubscriptionId): void {
    const entry = this.#entries.get(id);
    if (entry === undefined) return;
    this.#entries.delete(id);
    // An event being delivered may still hold it: the flag keeps it from hearing more.
    entry.live = false;
    this.#replaceList(
      entry.prefix,
      this.#listOf(entry.prefix).filter((other) => other !== entry),
    );
  }

  clear(): void {
    for (const entry of this.#entries.values()) entry.live = false;
    this.#entries.clear();
    this.#unprefixed = NONE;
    this.#byPrefix.clear();
    this.#candidatesOf = new Map();
  }

  #listOf(prefix: string): readonly Entry[] {
    if (prefix === "") return this.#unprefixed;
    return this.#byPrefix.get(prefix.length)?.get(prefix) ?? NONE;
  }

  #replaceList(prefix: string, list: readonly Entry[]): void {
    this.#candidatesOf = new Map();
    if (prefix === "") {
      this.#unprefixed = list;
      return;
    }
    let bucket = this.#byPrefix.get(prefix.length);
    if (list.length === 0) {
      bucket?.delete(prefix);
      if (bucket?.size === 0) this.#byPrefix.delete(prefix.length);
      return;
    }
    if (bucket === undefined) {
      bucket = new Map();
      this.#byPrefix.set(prefix.length, bucket);
    }
    bucket.set(prefix, list);
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

  /** The entries whose literal prefix the name starts with, in subscription order. */
  #candidates(name: string): readonly Entry[] {
    let found = this.#candidatesOf.get(name);
    if (found === undefined) {
      found = this.#collect(name);
      // Bounded: a session writing ever new names starts over rather than growing.
      if (this.#candidatesOf.size >= MAX_CACHED_NAMES) this.#candidatesOf = new Map();
      this.#candidatesOf.set(name, found);
    }
    return found;
  }

  #collect(name: string): readonly Entry[] {
    let lists: (readonly Entry[])[] | undefined;
    let only: readonly Entry[] | undefined =
      this.#unprefixed.length > 0 ? this.#unprefixed : undefined;
    for (const [length, bucket] of this.#byPrefix) {
      if (length > name.length) continue;
      const list = bucket.get(length === name.length ? name : name.slice(0, length));
      if (list === undefined) continue;
      if (only === undefined) only = list;
      else if (lists === undefined) lists = [only, list];
      else lists.push(list);
    }
    if (lists === undefined) return only ?? NONE;
    return mergeBySeq(lists);
  }

  #deliver(event: VariableEvent, last: number): void {
    // Lists are never changed in place, so callbacks that (un)subscribe cannot disturb the walk.
    const name = event.name;
    for (const entry of this.#candidates(name)) {
      if (entry.seq > last || !entry.live) continue;
      const kind = entry.kind;
      if (kind === EXACT ? name.length !== entry.prefix.length : kind !== PREFIX && !kind(name))
        continue;
      try {
        entry.subscriber(event);
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

/** A pattern without wildcards: a candidate of the same length is the name itself. */
const EXACT = 0;
/** `prefix*`: every candidate matches. */
const PREFIX = 1;
const MAX_CACHED_NAMES = 4096;

interface Entry {
  /** EXACT, PREFIX, or the matcher of any other glob. */
  readonly kind: typeof EXACT | typeof PREFIX | NameMatcher;
  readonly subscriber: Subscriber;
  readonly seq: number;
  readonly prefix: string;
  live: boolean;
}

const NONE: readonly Entry[] = [];

/** The literal text before the first wildcard: every name the pattern matches starts with it. */
function literalPrefix(pattern: string): string {
  const star = pattern.indexOf("*");
  const question = pattern.indexOf("?");
  const end =
    star < 0
      ? question < 0
        ? pattern.length
        : question
      : question < 0
        ? star
        : Math.min(star, question);
  return pattern.slice(0, end);
}

function endsInHighSurrogate(text: string): boolean {
  const last = text.charCodeAt(text.length - 1);
  return last >= 0xd800 && last <= 0xdbff;
}

/** Lists each in subscription order, merged into one in subscription order. */
function mergeBySeq(lists: readonly (readonly Entry[])[]): Entry[] {
  const out: Entry[] = [];
  const at = new Array<number>(lists.length).fill(0);
  for (;;) {
    let best = -1;
    for (let i = 0; i < lists.length; i++) {
      const entry = lists[i]![at[i]!];
      if (entry !== undefined && (best < 0 || entry.seq < lists[best]![at[best]!]!.seq)) best = i;
    }
    if (best < 0) return out;
    out.push(lists[best]![at[best]!++]!);
  }
}
