import {
  err,
  eventOf,
  ok,
  type Result,
  StateErrors,
  type SubscriberErrorHandler,
  SubscriberSet,
  type VariableEvent,
  type VariableEventKind,
  type VariableRecord,
} from "@dspex/state-provider";
import { decodeRecord, decodeValueOf } from "./codec.js";
import { parseSessionHash, type SessionHash } from "./hash.js";
import type { SessionKeys } from "./keys.js";
import type { Link } from "./link.js";
import { runScript } from "./runner.js";
import { FEED, READ_ALL } from "./scripts.js";

/** An event from the change feed (`resync`, the contract's, marks a catch-up after lost history). */
export type RedisVariableEvent = VariableEvent;

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
  readonly #link: Link;
  readonly #keys: SessionKeys;
  readonly #timeoutMs: number;
  readonly #pollMs: number;
  #known = new Map<string, Known>();
  #epoch: string | undefined;
  /** The next stream entry expected: `<commit>-<index>`. */
  #commit = 1;
  #index = 0;
  /** The request id of the last commit delivered: the next one must name it as its `pq`. */
  #lastRequest = "";
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
    this.#catching = (async () => {
      try {
        do {
          this.#again = false;
          await this.#readFeed();
        } while (this.#again && !this.#stopped);
      } finally {
        this.#catching = undefined;
      }
    })();
    return this.#catching;
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
        this.#epoch = undefined;
        this.#known.clear();
        return;
      }
      const [epoch, seqText, entries, lastRequest] = read.value as [
        string,
        string,
        [string, string[]][],
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
  #deliver(entries: readonly [string, string[]][]): boolean {
    let commit: VariableEvent[] = [];
    for (const [id, flat] of entries) {
      const fields: Record<string, string> = {};
      for (let i = 0; i < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string;
      const [commitText, indexText] = id.split("-");
      const index = Number(indexText);
      // A commit that does not follow the last one heard: history was rewritten (a restart
      // that lost writes); what was read of it so far is delivered, then the feed resyncs.
      if (index === 0 && fields.pq !== this.#lastRequest) {
        if (commit.length > 0) this.subscribers.emitAll(commit);
        return false;
      }
      const kind = fields.k as VariableEventKind;
      const record = decodeRecord(fields.r as string);
      const previous = fields.p === "" ? undefined : decodeValueOf(record.type, fields.p as string);
      const count = Number(fields.n);
      if (kind === "deleted") this.#known.delete(record.id);
      else this.#known.set(record.id, { record, stored: fields.r as string });
      commit.push(eventOf(kind, record, previous, Number(fields.t)));
      if (index + 1 >= count) {
        this.#commit = Number(commitText) + 1;
        this.#index = 0;
        this.#lastRequest = fields.q as string;
        this.subscribers.emitAll(commit);
        commit = [];
      } else {
        this.#commit = Number(commitText);
        this.#index = index + 1;
      }
    }
    // A commit cut by the page size: deliver what was read, the rest follows in order.
    if (commit.length > 0) this.subscribers.emitAll(commit);
    return true;
  }

  /** History is gone (trimmed, or a new epoch): the minimal catch-up from a snapshot. */
  async #resync(): Promise<void> {
    const read = await this.#readAll(Date.now() + this.#timeoutMs);
    if (!read.ok || this.#stopped) return;
    if (read.value === undefined) {
      this.#epoch = undefined;
      this.#known.clear();
      return;
    }
    const now = Date.now();
    const events: RedisVariableEvent[] = [];
    const current = new Set(read.value.records.map(({ record }) => record.id));
    for (const [id, { record }] of this.#known) {
      if (!current.has(id)) events.push(resynced(eventOf("deleted", record, record.value, now)));
    }
    for (const { record, stored } of read.value.records) {
      const known = this.#known.get(record.id);
      if (known === undefined) events.push(resynced(eventOf("registered", record, undefined)));
      else if (known.stored !== stored)
        events.push(resynced(eventOf("updated", record, known.record.value)));
    }
    this.#adopt(read.value);
    this.subscribers.emitAll(events);
  }

  #adopt(hash: SessionHash): void {
    this.#epoch = hash.epoch;
    this.#known = new Map(
      hash.records.map(({ record, stored }) => [record.id, { record, stored }]),
    );
    this.#commit = hash.seq + 1;
    this.#index = 0;
    this.#lastRequest = hash.lastRequest;
  }

  async #readAll(deadline: number): Promise<Result<SessionHash | undefined>> {
    const read = await runScript(this.#link, READ_ALL, [this.#keys.hash], [], {
      deadline,
      what: "reading the session for the change feed",
      write: false,
    });
    return read.ok ? ok(parseSessionHash(read.value)) : read;
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

function resynced(event: VariableEvent): RedisVariableEvent {
  return { ...event, resync: true };
}
