import {
  err,
  eventOf,
  ok,
  type Result,
  StateErrors,
  type Subscriber,
  type SubscriberErrorHandler,
  SubscriberSet,
  type SubscriptionId,
  type VariableEvent,
  type VariableEventKind,
  type VariableRecord,
} from "@dspex/state-provider";
import { decodeRecord, decodeValueOf } from "./codec.js";
import { type FeedCursor, formatCursor } from "./cursor.js";
import { parseSessionHash, type SessionHash } from "./hash.js";
import type { SessionKeys } from "./keys.js";
import type { Link } from "./link.js";
import { runScript } from "./runner.js";
import { FEED, FEED_RANGE, FEED_SNAPSHOT, RESUME } from "./scripts.js";

/**
 * An event from the change feed, as subscribers receive it: `cursor` is always set here
 * (`resync`, the contract's, marks a catch-up after lost history).
 */
export type RedisVariableEvent = VariableEvent;

/** A stream entry as XRANGE answers it. */
type Entry = [string, string[]];

/** One stream entry, decoded. */
interface Decoded {
  readonly commit: number;
  readonly index: number;
  readonly fields: Readonly<Record<string, string>>;
  readonly event: VariableEvent & { readonly cursor: string };
}

/** Whether `next` is the stream entry right after `previous` (same commit, or the next one). */
function follows(previous: Decoded, next: Decoded): boolean {
  if (next.index > 0) return next.commit === previous.commit && next.index === previous.index + 1;
  return (
    next.commit === previous.commit + 1 &&
    previous.index + 1 === Number(previous.fields.n) &&
    next.fields.pq === previous.fields.q
  );
}

/** Entries read per round trip while catching up. */
const PAGE = 256;

interface Known {
  readonly record: VariableRecord;
  /** Its stored JSON: a resync compares it (commit numbers repeat after a rewritten history). */
  readonly stored: string;
}

/**
 * What one process hears of one session: the stream of committed changes read from a cursor
 * after each doorbell, each reconnect and a periodic poll, delivered through one SubscriberSet,
 * so this process's writes and other processes' writes reach subscribers in one commit order.
 * It mirrors the session's records (to resync: a reader whose cursor fell out of the retained
 * stream, or who finds a new epoch, gets the minimal catch-up computed from a snapshot).
 */
export class ChangeFeed {
  readonly subscribers: SubscriberSet;
  /** Subscribe calls under way: the feed is not released while one is. */
  joining = 0;
  /** Told once when the feed finds the session gone (deleted or expired, by any process). */
  readonly endListeners = new Set<() => void>();
  readonly #link: Link;
  readonly #keys: SessionKeys;
  readonly #timeoutMs: number;
  readonly #pollMs: number;
  readonly #onSubscriberError: SubscriberErrorHandler | undefined;
  #known = new Map<string, Known>();
  #epoch: string | undefined;
  /** The next stream entry expected: `<commit>-<index>`. */
  #commit = 1;
  #index = 0;
  /** The request id of the last commit delivered: the next one must name it as its `pq`. */
  #lastRequest = "";
  /** The cursor of the snapshot last adopted: what resync events carry. */
  #snapshotCursor = "";
  #started: Promise<Result<undefined>> | undefined;
  /** Set once the first snapshot is taken: until then a doorbell has no cursor to read from. */
  #ready = false;
  #stopped = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #catching: Promise<void> | undefined;
  #again = false;
  readonly #bell = (message: string) => {
    const [epoch, seq] = message.split(":");
    // A doorbell for a commit already read (our own catch-up got there first) needs no read.
    if (epoch === this.#epoch && seq !== "end" && Number(seq) < this.#commit) return;
    void this.catchUp();
  };

  constructor(
    link: Link,
    keys: SessionKeys,
    options: { timeoutMs: number; pollMs: number; onSubscriberError?: SubscriberErrorHandler },
  ) {
    this.#link = link;
    this.#keys = keys;
    this.#timeoutMs = options.timeoutMs;
    this.#pollMs = options.pollMs;
    this.#onSubscriberError = options.onSubscriberError;
    this.subscribers = new SubscriberSet(options.onSubscriberError);
  }

  /** Subscribes to the doorbell, then takes the snapshot the cursor starts from. */
  start(): Promise<Result<undefined>> {
    this.#started ??= this.#start();
    return this.#started;
  }

  async #start(): Promise<Result<undefined>> {
    const deadline = Date.now() + this.#timeoutMs;
    try {
      await this.#link.subscribe(this.#keys.bell, this.#bell);
    } catch (error) {
      this.#started = undefined;
      return err(
        StateErrors.unavailable(
          `Redis did not accept the change-feed subscription: ${(error as Error).message}`,
        ),
      );
    }
    const read = await this.#readAll(deadline);
    if (!read.ok) {
      this.#started = undefined;
      await this.#link.unsubscribe(this.#keys.bell, this.#bell).catch(() => {});
      return read;
    }
    if (read.value === undefined) {
      this.#started = undefined;
      await this.#link.unsubscribe(this.#keys.bell, this.#bell).catch(() => {});
      return err(StateErrors.sessionNotFound(this.#keys.hash));
    }
    this.#adopt(read.value);
    this.#ready = true;
    this.#timer = setInterval(() => void this.catchUp(), this.#pollMs);
    this.#timer.unref();
    return ok();
  }

  /** Reads and delivers everything committed since the cursor; concurrent calls coalesce. */
  catchUp(): Promise<void> {
    if (this.#stopped || !this.#ready) return Promise.resolve();
    if (this.#catching !== undefined) {
      this.#again = true;
      return this.#catching;
    }
    return this.#exclusive(async () => {});
  }

  /**
   * Runs `task` while no read of the feed is under way (catch-ups asked for meanwhile run after
   * it, before this answers): what it reads of the position stands still.
   */
  async #exclusive<T>(task: () => Promise<T>): Promise<T> {
    while (this.#catching !== undefined) await this.#catching.catch(() => {});
    let result: T | undefined;
    const running = (async () => {
      try {
        result = await task();
        do {
          this.#again = false;
          await this.#readFeed();
        } while (this.#again && !this.#stopped);
      } finally {
        this.#catching = undefined;
      }
    })();
    this.#catching = running;
    await running;
    return result as T;
  }

  /**
   * Adds a subscriber once the feed has read everything committed before this call (heard by
   * earlier subscribers only). With `after`, it first hears, alone, every change committed after
   * that cursor up to where the feed stands, then live ones with everyone: no gap, no duplicate.
   * `resumed: false` when `after` cannot be honoured (another epoch, trimmed, rewritten); an
   * error when the replay broke off (the subscriber is not added; the events it heard carry
   * their cursors).
   */
  join(
    pattern: string,
    subscriber: Subscriber,
    after: FeedCursor | undefined,
  ): Promise<Result<{ readonly id: SubscriptionId; readonly resumed: boolean }>> {
    return this.#exclusive(async () => {
      await this.#readFeed();
      let resumed = false;
      if (after !== undefined) {
        const replayed = await this.#replay(after, pattern, subscriber);
        if (!replayed.ok) return replayed;
        resumed = replayed.value;
      }
      return ok({ id: this.subscribers.add(pattern, subscriber), resumed });
    });
  }

  /** Delivers to `subscriber` alone the changes after `after` up to the feed's position. */
  async #replay(
    after: FeedCursor,
    pattern: string,
    subscriber: Subscriber,
  ): Promise<Result<boolean>> {
    if (after.epoch !== this.#epoch) return ok(false);
    // A cursor at or past the feed's position (another process heard further): read on once.
    if (!this.#before(after)) await this.#readFeed();
    if (after.epoch !== this.#epoch || !this.#before(after)) return ok(false);
    const end = `${this.#commit}-${this.#index}`;
    const deadline = Date.now() + this.#timeoutMs;
    const options = { deadline, what: "resuming the change feed", write: false } as const;
    const first = await runScript(
      this.#link,
      RESUME,
      [this.#keys.hash, this.#keys.feed],
      [after.epoch, after.entry, after.request, end, String(PAGE)],
      options,
    );
    if (!first.ok) return first;
    const [status, page] = first.value as [string, Entry[] | undefined];
    if (status !== "ok") return ok(false);
    const solo = new SubscriberSet(this.#onSubscriberError);
    solo.add(pattern, subscriber);
    let entries = page as Entry[];
    let previous: Decoded | undefined;
    for (;;) {
      const decoded = entries.map((entry) => this.#decode(entry));
      for (const next of decoded) {
        // The first page starts right after the cursor (read with it); later pages must follow.
        if (previous !== undefined && !follows(previous, next)) {
          return err(
            StateErrors.unavailable(
              `the change feed was trimmed or rewritten while resuming after ${after.entry}; subscribe again from the last cursor heard`,
            ),
          );
        }
        previous = next;
      }
      solo.emitAll(decoded.map((d) => d.event));
      if (entries.length < PAGE || previous === undefined) return ok(true);
      const next = await runScript(
        this.#link,
        FEED_RANGE,
        [this.#keys.feed],
        [entries[entries.length - 1]?.[0] as string, end, String(PAGE)],
        options,
      );
      if (!next.ok) return next;
      entries = next.value as Entry[];
    }
  }

  /** Whether `cursor` is before the feed's next expected entry. */
  #before(cursor: FeedCursor): boolean {
    return (
      cursor.commit < this.#commit || (cursor.commit === this.#commit && cursor.index < this.#index)
    );
  }

  #decode([id, flat]: Entry): Decoded {
    const fields: Record<string, string> = {};
    for (let i = 0; i < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string;
    const [commitText, indexText] = id.split("-");
    const record = decodeRecord(fields.r as string);
    const previous = fields.p === "" ? undefined : decodeValueOf(record.type, fields.p as string);
    const event = eventOf(fields.k as VariableEventKind, record, previous, Number(fields.t));
    return {
      commit: Number(commitText),
      index: Number(indexText),
      fields,
      event: { ...event, cursor: formatCursor(this.#epoch as string, id, fields.q as string) },
    };
  }

  async #readFeed(): Promise<void> {
    for (;;) {
      if (this.#stopped) return;
      const from = `${this.#commit}-${this.#index}`;
      const read = await runScript(
        this.#link,
        FEED,
        [this.#keys.hash, this.#keys.feed],
        [from, String(PAGE)],
        {
          deadline: Date.now() + this.#timeoutMs,
          what: "reading the change feed",
          write: false,
        },
      );
      // Unreachable: the next doorbell, reconnect or poll tries again.
      if (!read.ok || this.#stopped) return;
      if (read.value === null) {
        // The session ended (deleted, or expired): its watchers hear nothing more from it.
        this.#sessionEnded();
        return;
      }
      const [epoch, seqText, entries, lastRequest] = read.value as [
        string,
        string,
        Entry[],
        string,
      ];
      const seq = Number(seqText);
      const first = entries[0]?.[0];
      // Nothing new must mean the last commit is the one last heard; anything else is a gap.
      const gap =
        epoch !== this.#epoch ||
        (first === undefined
          ? seq !== this.#commit - 1 || (this.#index === 0 && lastRequest !== this.#lastRequest)
          : first !== from);
      if (gap) {
        await this.#resync();
        return;
      }
      if (!this.#deliver(entries)) {
        await this.#resync();
        return;
      }
      if (entries.length < PAGE) return;
    }
  }

  /** Delivers entries in order; false when they do not follow what was delivered (a gap). */
  #deliver(entries: readonly Entry[]): boolean {
    let commit: VariableEvent[] = [];
    for (const entry of entries) {
      const { commit: number, index, fields, event } = this.#decode(entry);
      // A commit that does not follow the last one heard: history was rewritten (a restart
      // that lost writes); what was read of it so far is delivered, then the feed resyncs.
      if (index === 0 && fields.pq !== this.#lastRequest) {
        if (commit.length > 0) this.subscribers.emitAll(commit);
        return false;
      }
      const { record } = event;
      if (event.kind === "deleted") this.#known.delete(record.id);
      else this.#known.set(record.id, { record, stored: fields.r as string });
      commit.push(event);
      if (index + 1 >= Number(fields.n)) {
        this.#commit = number + 1;
        this.#index = 0;
        this.#lastRequest = fields.q as string;
        this.subscribers.emitAll(commit);
        commit = [];
      } else {
        this.#commit = number;
        this.#index = index + 1;
      }
    }
    // A commit cut by the page size: deliver what was read, the rest follows in order.
    if (commit.length > 0) this.subscribers.emitAll(commit);
    return true;
  }

  #sessionEnded(): void {
    this.#epoch = undefined;
    this.#known.clear();
    const listeners = [...this.endListeners];
    this.endListeners.clear();
    for (const listener of listeners) listener();
  }

  /** History is gone (trimmed, or a new epoch): the minimal catch-up from a snapshot. */
  async #resync(): Promise<void> {
    const read = await this.#readAll(Date.now() + this.#timeoutMs);
    if (!read.ok || this.#stopped) return;
    if (read.value === undefined) {
      this.#sessionEnded();
      return;
    }
    const now = Date.now();
    const events: VariableEvent[] = [];
    const current = new Set(read.value.hash.records.map(({ record }) => record.id));
    for (const [id, { record }] of this.#known) {
      if (!current.has(id)) events.push(eventOf("deleted", record, record.value, now));
    }
    for (const { record, stored } of read.value.hash.records) {
      const known = this.#known.get(record.id);
      if (known === undefined) events.push(eventOf("registered", record, undefined));
      else if (known.stored !== stored) events.push(eventOf("updated", record, known.record.value));
    }
    this.#adopt(read.value);
    const cursor = this.#snapshotCursor;
    this.subscribers.emitAll(events.map((event) => ({ ...event, resync: true, cursor })));
  }

  #adopt({ hash, last, lastRequest }: FeedSnapshot): void {
    this.#epoch = hash.epoch;
    this.#known = new Map(
      hash.records.map(({ record, stored }) => [record.id, { record, stored }]),
    );
    this.#commit = hash.seq + 1;
    this.#index = 0;
    this.#lastRequest = hash.lastRequest;
    // The snapshot stands after the stream's last entry (none: no commit yet, or lost).
    this.#snapshotCursor = formatCursor(hash.epoch, last || `${hash.seq}-0`, lastRequest || "-");
  }

  async #readAll(deadline: number): Promise<Result<FeedSnapshot | undefined>> {
    const read = await runScript(
      this.#link,
      FEED_SNAPSHOT,
      [this.#keys.hash, this.#keys.feed],
      [],
      {
        deadline,
        what: "reading the session for the change feed",
        write: false,
      },
    );
    if (!read.ok) return read;
    const [flat, last, lastRequest] = read.value as [string[], string, string];
    const hash = parseSessionHash(flat);
    return ok(hash === undefined ? undefined : { hash, last, lastRequest });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.subscribers.clear();
    await this.#catching?.catch(() => {});
    if (this.#started !== undefined) {
      await this.#link.unsubscribe(this.#keys.bell, this.#bell).catch(() => {});
    }
  }
}

/** The session as a snapshot read it, with the last stream entry then (its id and request id). */
interface FeedSnapshot {
  readonly hash: SessionHash;
  readonly last: string;
  readonly lastRequest: string;
}
