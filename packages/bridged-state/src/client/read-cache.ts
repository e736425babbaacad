import type { VariableRecord } from "@dspex/state-provider";
import type * as grpc from "@grpc/grpc-js";
import type { Variable__Output } from "../wire/generated/snakepit/bridge/Variable.js";
import type { VariableUpdate__Output } from "../wire/generated/snakepit/bridge/VariableUpdate.js";

/** Deletions remembered so an own delete answered after its echo does not bar the id forever. */
const DELETIONS_REMEMBERED = 1024;

export interface ReadCacheStats {
  /** Reads answered from the cache. */
  readonly hits: number;
  /** Reads that went to the server (not delivered yet, own write not echoed, stream down). */
  readonly misses: number;
  /** True while the stream is open and has delivered at least one message. */
  readonly live: boolean;
  /** Times the stream opened (the first time included). */
  readonly connects: number;
  /** Times a re-opened stream resumed after the last change it had delivered (no snapshot). */
  readonly resumes: number;
}

/** A note of this session's own write or registration, and the stream break it followed. */
interface Noted<T> {
  readonly value: T;
  readonly epoch: number;
}

/**
 * A read cache fed by one WatchVariables stream (initial values included), with the guarantee
 * of the Python client's (README, "Read cache"): a cached read of x answers the record of the
 * most recent message about x the stream delivered, and only when its version is at least that
 * of this session's own latest completed write to x; anything else goes to the server. Entries
 * come only from the stream, and nothing is served from the moment the stream breaks: a stream
 * re-opened with a snapshot starts the cache afresh; one that resumes after the last change it
 * delivered continues it (every change since follows, in order), and what it delivered before
 * serves again once caught up: re-delivered, or confirmed current by one read of the versions
 * made after the stream resumed (anything newer is then still to come on the stream).
 */
export class ReadCache {
  /** By id and by name: one entry under both keys. */
  #entries = new Map<string, VariableRecord>();
  /** identifier → version this session's own writes reached (Infinity: deleted by us). */
  #floors = new Map<string, Noted<number>>();
  /** name → id this session registered under it, until the stream delivers that id. */
  #pins = new Map<string, Noted<string>>();
  #deletedIds = new Set<string>();
  #call: grpc.ClientReadableStream<VariableUpdate__Output> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #delayMs = 50;
  #delivered = false;
  /** False from a break until the re-opened stream resumes or starts its snapshot. */
  #serving = true;
  /** Breaks seen so far: notes made before the last one do not outlive a snapshot. */
  #epoch = 0;
  /** The `cursor` of the last change delivered, for resuming; undefined after a snapshot. */
  #cursor: string | undefined;
  /** Entries from before a break the resumed stream has not caught up on yet: not served. */
  #unconfirmed = new Set<VariableRecord>();
  #stopped = false;
  #hits = 0;
  #misses = 0;
  #connects = 0;
  #resumes = 0;
  readonly #waiters = new Set<() => void>();

  constructor(
    private readonly options: {
      /**
       * Opens a WatchVariables stream for the cached pattern, with initial values and resuming
       * after `resumeAfter` when given; undefined when no bridge could be reached.
       */
      open: (
        resumeAfter: string | undefined,
      ) => Promise<grpc.ClientReadableStream<VariableUpdate__Output> | undefined>;
      /** The current version of each id the store still has; undefined when it cannot answer. */
      versions: (ids: readonly string[]) => Promise<ReadonlyMap<string, number> | undefined>;
      /** A wire Variable as a checked record, or undefined when it does not decode. */
      decode: (variable: Variable__Output) => VariableRecord | undefined;
      maxDelayMs: number;
    },
  ) {
    void this.#open();
  }

  get stats(): ReadCacheStats {
    return {
      hits: this.#hits,
      misses: this.#misses,
      live: this.#call !== undefined && this.#delivered,
      connects: this.#connects,
      resumes: this.#resumes,
    };
  }

  /** The cached record of an id or name, or undefined (the caller asks the server). */
  lookup(identifier: string): VariableRecord | undefined {
    const entry = this.#serving ? this.#entries.get(identifier) : undefined;
    const record = entry === undefined || this.#unconfirmed.has(entry) ? undefined : entry;
    if (record === undefined) this.#misses++;
    else this.#hits++;
    return record;
  }

  /** Resolves once every identifier is served from the cache, or false after `timeoutMs`. */
  async waitUntilCached(identifiers: readonly string[], timeoutMs = 5_000): Promise<boolean> {
    const ready = () =>
      this.#serving &&
      identifiers.every((identifier) => {
        const entry = this.#entries.get(identifier);
        return entry !== undefined && !this.#unconfirmed.has(entry);
      });
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      const remaining = deadline - Date.now();
      if (remaining <= 0 || this.#stopped) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, remaining);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.#waiters.add(done);
      });
    }
    return true;
  }

  /**
   * This session committed `version` of the variable `keys` name (its id and name among them):
   * stop serving older ones. A version the stream delivered already (one entry under all the
   * keys, so the same variable) needs no floor.
   */
  noteWrite(keys: readonly string[], version: number): void {
    const delivered = this.#entries.get(keys[0]!);
    if (
      keys.length > 1 &&
      delivered !== undefined &&
      delivered.version >= version &&
      keys.every((key) => this.#entries.get(key) === delivered)
    )
      return;
    for (const key of keys) {
      if (version > this.#floor(key)) this.#floors.set(key, { value: version, epoch: this.#epoch });
      const entry = this.#entries.get(key);
      if (entry !== undefined && entry.version < version) this.#drop(entry);
    }
  }

  /** This session deleted the variable: bar it until the stream delivers the deletion. */
  noteDelete(keys: readonly string[]): void {
    if (keys.some((key) => this.#deletedIds.has(key))) return; // its deletion came already
    this.noteWrite(keys, Number.POSITIVE_INFINITY);
  }

  /** This session registered `id` as `name`: what the name meant before must not answer. */
  noteRegister(name: string, id: string): void {
    this.#floors.delete(name);
    this.#floors.delete(id);
    // Delivered already (the stream can be faster than the answer): nothing to skip.
    if (this.#entries.get(id) !== undefined) return;
    this.#pins.set(name, { value: id, epoch: this.#epoch });
    const entry = this.#entries.get(name);
    if (entry !== undefined && entry.id !== id) this.#drop(entry);
  }

  /** Everything this session may have changed (an import): serve nothing until re-delivered. */
  restart(): void {
    if (this.#stopped) return;
    // A snapshot, not a resume: the import's changes may not all be in the feed.
    this.#cursor = undefined;
    this.#serving = false;
    this.#call?.cancel();
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#call?.cancel();
    this.#clear();
  }

  async #open(): Promise<void> {
    const call = await this.options.open(this.#cursor);
    if (this.#stopped) {
      call?.cancel();
      return;
    }
    if (call === undefined) return this.#retryLater();
    this.#call = call;
    this.#connects++;
    let first = true;
    call.on("data", (update: VariableUpdate__Output) => {
      if (this.#call !== call) return;
      this.#delivered = true;
      this.#delayMs = 50;
      if (first) {
        first = false;
        this.#begin(update.update_type === "resumed");
      }
      if (update.cursor) this.#cursor = update.cursor;
      this.#apply(update);
    });
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      if (this.#call === call) this.#call = undefined;
      // The moment the break is seen: from now on reads go to the server until re-delivered.
      this.#serving = false;
      this.#delivered = false;
      this.#epoch++;
      if (this.#stopped) return;
      this.#retryLater();
    };
    call.on("error", finish);
    call.on("end", finish);
  }

  #retryLater(): void {
    this.#timer = setTimeout(() => {
      if (!this.#stopped) void this.#open();
    }, this.#delayMs);
    this.#delayMs = Math.min(this.#delayMs * 2, this.options.maxDelayMs);
  }

  /**
   * The first message of a stream. Resumed, it continues the stream that broke: what that one
   * delivered, and every note, still holds. Otherwise a snapshot follows: the cache starts
   * afresh, keeping only the notes made since the last break (writes answered meanwhile may
   * commit after the snapshot's read, so their floors must stay).
   */
  #begin(resumed: boolean): void {
    this.#serving = true;
    if (resumed) {
      this.#resumes++;
      this.#unconfirmed = new Set(this.#entries.values());
      if (this.#unconfirmed.size > 0) void this.#confirm(this.#epoch);
      return;
    }
    this.#unconfirmed = new Set();
    this.#cursor = undefined;
    this.#entries = new Map();
    this.#deletedIds = new Set();
    for (const notes of [this.#floors, this.#pins] as Map<string, Noted<unknown>>[]) {
      for (const [key, note] of notes) if (note.epoch < this.#epoch) notes.delete(key);
    }
  }

  /**
   * Serves again the entries whose version the store still has, read after the stream resumed:
   * a change after them would be on its way on the stream. The rest wait to be re-delivered; if
   * the store cannot answer, the cache starts afresh from a snapshot.
   */
  async #confirm(epoch: number): Promise<void> {
    const ids = [...new Set([...this.#unconfirmed].map((entry) => entry.id))];
    const current = await this.options.versions(ids);
    if (this.#stopped || epoch !== this.#epoch) return;
    if (current === undefined) return this.restart();
    for (const entry of this.#unconfirmed) {
      if (current.get(entry.id) === entry.version) this.#unconfirmed.delete(entry);
    }
    this.#wake();
  }

  #floor(key: string): number {
    return this.#floors.get(key)?.value ?? 0;
  }

  #apply(update: VariableUpdate__Output): void {
    const kind = update.update_type;
    if (kind === "heartbeat" || kind === "resumed" || update.variable === null) {
      this.#wake();
      return;
    }
    const record = this.options.decode(update.variable);
    if (kind === "deleted") {
      const id = update.variable_id;
      for (const key of [id, record?.name ?? ""]) {
        const entry = this.#entries.get(key);
        if (entry !== undefined && entry.id === id) this.#drop(entry);
      }
      if (record !== undefined && this.#pins.get(record.name)?.value === id)
        this.#pins.delete(record.name);
      // After its very deletion nothing older about the variable can follow: a later variable
      // of that name is cacheable again (own writes to it keep their floor by its id).
      this.#floors.delete(id);
      if (record !== undefined) this.#floors.delete(record.name);
      this.#deletedIds.add(id);
      if (this.#deletedIds.size > DELETIONS_REMEMBERED) {
        this.#deletedIds.delete(this.#deletedIds.values().next().value as string);
      }
    } else if (record !== undefined) {
      const pinned = this.#pins.get(record.name)?.value;
      if (pinned !== undefined) {
        if (pinned !== record.id) return; // about the variable the name had before ours
        this.#pins.delete(record.name);
      }
      const current = this.#entries.get(record.name);
      if (current?.id === record.id && current.version >= record.version) return;
      if (current !== undefined) this.#drop(current);
      const floor = Math.max(this.#floor(record.id), this.#floor(record.name));
      if (record.version >= floor) {
        this.#floors.delete(record.id);
        this.#floors.delete(record.name);
        this.#entries.set(record.id, record);
        this.#entries.set(record.name, record);
      }
    }
    this.#wake();
  }

  #wake(): void {
    for (const wake of [...this.#waiters]) {
      this.#waiters.delete(wake);
      wake();
    }
  }

  #drop(entry: VariableRecord): void {
    for (const key of [entry.id, entry.name])
      if (this.#entries.get(key) === entry) this.#entries.delete(key);
  }

  #clear(): void {
    this.#unconfirmed = new Set();
    this.#entries = new Map();
    this.#floors = new Map();
    this.#pins = new Map();
    this.#deletedIds = new Set();
    this.#delivered = false;
    this.#serving = false;
  }
}
