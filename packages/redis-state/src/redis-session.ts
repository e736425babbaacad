import { randomUUID } from "node:crypto";
import {
  buildExport,
  type ExportedState,
  encodeValueJson,
  err,
  type Identifier,
  type Metadata,
  ok,
  type ParsedExport,
  type RegistrationInput,
  type Result,
  StateErrors,
  type Subscriber,
  type SubscriptionId,
  type VariableId,
  type VariableRecord,
  type VariableValue,
  type VariableVersion,
} from "@dspex/state-provider";
import {
  BackendSession,
  batchOutcome,
  type Change,
  define,
  newVariableId,
  type PlanContext,
  planBatch,
  planDelete,
  planImport,
  planRegistration,
  planWrite,
  type RecordView,
  type StoreLimits,
  type Versioned,
} from "@dspex/state-provider/backend";
import { decodeRecord, decodeValue, encodeRecord } from "./codec.js";
import type { FeedCursor } from "./cursor.js";
import type { ChangeFeed } from "./feed.js";
import { parseSessionHash } from "./hash.js";
import { readHistory } from "./history.js";
import type { SessionKeys } from "./keys.js";
import type { Link } from "./link.js";
import { runRead, runScript } from "./runner.js";
import { COMMIT, GET, LOOKUP, READ_ALL, type Script, SNAPSHOT, TOUCH } from "./scripts.js";

/** What `subscribeAfter` answers. */
export interface Resumed {
  readonly subscription: SubscriptionId;
  /**
   * True when every change committed after the cursor was delivered before the live ones;
   * false when it could not be (the cursor is of another epoch of the session, or its change was
   * trimmed from the feed or lost by Redis): a plain subscription from now, catch up otherwise.
   */
  readonly resumed: boolean;
}

/** What a session needs from its provider. */
export interface SessionBackend {
  readonly name: string;
  readonly link: Link;
  readonly limits: StoreLimits;
  readonly ttlMs: number;
  readonly timeoutMs: number;
  readonly feedRetention: number;
  feed(sessionId: string, keys: SessionKeys): ChangeFeed;
  releaseFeed(sessionId: string): Promise<void>;
  release(session: RedisSession): Promise<void>;
}

/** Reads and commits that conflict with other writers are re-planned at most this often. */
const MAX_ATTEMPTS = 32;

interface Known {
  /** Undefined: nothing has this id. */
  readonly record: VariableRecord | undefined;
  /** The request id of the commit that last wrote it; '' when absent. */
  readonly rev: string;
}

/** Past this many entries the session forgets what it learned rather than grow. */
const MAX_KNOWN = 10_000;

/**
 * What a session last learned about identifiers and records, from its reads and its own
 * commits. A write plans against it without reading first; the commit is conditioned on it, so
 * a stale guess costs a `retry` and a fresh read, never a wrong write.
 */
class Knowledge {
  epoch = "";
  size = 0;
  metadata = "{}";
  /** The session's last commit when last read (or committed by this session). */
  seq = 0;
  /** The request id of the last commit that changed which ids and names exist (`st`). */
  structure = "";
  /** Identifier → the id it names as a name ('' for none). */
  readonly names = new Map<string, string>();
  /** A string looked up as an id → what has that id. */
  readonly records = new Map<string, Known>();

  /** Takes in a SNAPSHOT reply for `identifiers`. */
  learn(identifiers: readonly string[], reply: readonly string[]): void {
    if (this.records.size > MAX_KNOWN) this.forget();
    this.epoch = reply[0] as string;
    this.size = Number(reply[1]);
    this.metadata = reply[2] as string;
    this.seq = Number(reply[3]);
    this.structure = reply[4] as string;
    for (let i = 0; i < identifiers.length; i++) {
      const ident = identifiers[i] as string;
      const at = 5 + i * 5;
      const blob = reply[at] as string;
      const named = reply[at + 2] as string;
      this.records.set(ident, {
        record: blob === "" ? undefined : decodeRecord(blob),
        rev: reply[at + 1] as string,
      });
      this.names.set(ident, named);
      if (named !== "") {
        const target = reply[at + 3] as string;
        this.records.set(named, {
          record: target === "" ? undefined : decodeRecord(target),
          rev: reply[at + 4] as string,
        });
      }
    }
  }

  covers(identifiers: readonly string[]): boolean {
    if (this.epoch === "") return false;
    for (const ident of identifiers)
      if (!this.names.has(ident) || !this.records.has(ident)) return false;
    return true;
  }

  /** After this session's own commit `seq` of `changes`. */
  committed(changes: readonly Change[], seq: string, rev: string, structural: boolean): void {
    this.seq = Math.max(this.seq, Number(seq));
    if (structural) this.structure = rev;
    for (const { kind, record } of changes) {
      if (kind === "deleted") {
        this.records.set(record.id, { record: undefined, rev: "" });
        if (this.names.get(record.name) === record.id) this.names.set(record.name, "");
      } else {
        this.records.set(record.id, { record, rev });
        this.names.set(record.name, record.id);
      }
    }
  }

  forget(): void {
    this.epoch = "";
    this.names.clear();
    this.records.clear();
  }
}

/**
 * The records one call touches (each identifier as an id and as a name), as the plans see them,
 * and the conditions its commit is made on: every record and name entry it relied on unchanged.
 */
class Snapshot implements RecordView {
  readonly epoch: string;
  readonly size: number;
  readonly metadata: string;
  readonly seq: number;
  readonly conditions = new Map<string, string>();
  readonly #known: Knowledge;

  constructor(known: Knowledge, identifiers: readonly string[]) {
    this.#known = known;
    this.seq = known.seq;
    this.epoch = known.epoch;
    this.size = known.size;
    this.metadata = known.metadata;
    for (const ident of identifiers) {
      const named = known.names.get(ident) as string;
      this.conditions.set(`v:${ident}`, (known.records.get(ident) as Known).rev);
      this.conditions.set(`n:${ident}`, named);
      if (named !== "") this.conditions.set(`v:${named}`, known.records.get(named)?.rev ?? "");
    }
  }

  /**
   * The conditions of a commit that only updates existing records: which ids and names exist
   * unchanged (so every identifier still resolves as planned) and each written record unchanged.
   */
  updateConditions(changes: readonly Change[]): Map<string, string> {
    const conditions = new Map([["st", this.#known.structure]]);
    for (const { record } of changes)
      conditions.set(`v:${record.id}`, this.#known.records.get(record.id)?.rev ?? "");
    return conditions;
  }

  resolve(identifier: Identifier): VariableRecord | undefined {
    const asId = this.#loaded(identifier).record;
    if (asId !== undefined) return asId;
    const named = this.#known.names.get(identifier);
    return named === "" || named === undefined ? undefined : this.#known.records.get(named)?.record;
  }

  byId(id: VariableId): VariableRecord | undefined {
    return this.#known.records.get(id)?.record ?? this.#loaded(id).record;
  }

  idOfName(name: string): VariableId | undefined {
    this.#loaded(name);
    const named = this.#known.names.get(name);
    return named === "" ? undefined : named;
  }

  /** Whether an identifier read is in use as an id or a name (for a new variable's id). */
  taken(identifier: string): boolean {
    return (
      this.#loaded(identifier).record !== undefined || this.#known.names.get(identifier) !== ""
    );
  }

  #loaded(identifier: string): Known {
    const loaded = this.#known.records.get(identifier);
    // A plan asking about what the call did not read is a bug here, not a caller's mistake.
    if (loaded === undefined || !this.#known.names.has(identifier)) {
      throw new Error(`RedisState: ${identifier} was not read before planning`);
    }
    return loaded;
  }
}

/** A registration's or deletion's answer (the record) as stored with its commit. */
function recordAnswer(requestId: string | undefined): Idempotent<VariableRecord> | undefined {
  return requestId === undefined
    ? undefined
    : { requestId, encode: encodeRecord, decode: decodeRecord };
}

/** A caller's request id, and how the answer of its write is stored with its commit. */
interface Idempotent<T> {
  readonly requestId: string;
  encode(answer: T): string;
  decode(stored: string): T;
}

interface Planned<T> {
  readonly changes: readonly Change[];
  /** Registrations, deletions and imports change which ids and names exist. */
  readonly structural: boolean;
  /** New session metadata JSON, when the change sets it. */
  readonly metadata?: string;
  readonly answer: T;
}

/**
 * One open session on Redis: a read is one command; a write is planned from what the session
 * knows (read first when it does not know enough), then committed in one script.
 */
export class RedisSession extends BackendSession {
  readonly keys: SessionKeys;
  readonly #backend: SessionBackend;
  readonly #subscriptions = new Set<SubscriptionId>();
  #feed: ChangeFeed | undefined;
  #touched = Date.now();
  readonly #known = new Knowledge();

  constructor(sessionId: string, keys: SessionKeys, backend: SessionBackend) {
    super(sessionId);
    this.keys = keys;
    this.#backend = backend;
  }

  #run(
    script: Script,
    keys: readonly string[],
    args: readonly string[],
    what: string,
    write: boolean,
    deadline = Date.now() + this.#backend.timeoutMs,
  ) {
    return runScript(this.#backend.link, script, keys, args, { deadline, what, write });
  }

  #gone(): Result<never> {
    return err(StateErrors.sessionNotFound(this.sessionId));
  }

  /** Reads keep an idle session alive too, re-arming its TTL at most every ttl/8. */
  #touch(): void {
    const now = Date.now();
    if (now - this.#touched < this.#backend.ttlMs / 8) return;
    this.#touched = now;
    void this.#run(
      TOUCH,
      [this.keys.hash, this.keys.feed, this.keys.requests],
      [String(this.#backend.ttlMs)],
      "touch",
      true,
    );
  }

  /**
   * The stored JSON of the record `identifier` names (id first, then name). One HMGET when the
   * session already knows which id the name holds (the field of that id rides along), else
   * the GET script; a name that moved meanwhile costs one more read.
   */
  async #get(identifier: Identifier): Promise<Result<string>> {
    const knownId = this.#known.names.get(identifier);
    if (knownId === undefined || knownId === "") return this.#getByScript(identifier);
    const hash = this.keys.hash;
    const fields = ["HMGET", hash, "epoch", `r:${identifier}`, `n:${identifier}`, `r:${knownId}`];
    const read = await runRead(this.#backend.link, hash, fields, {
      deadline: Date.now() + this.#backend.timeoutMs,
      what: `get of ${identifier}`,
      write: false,
    });
    if (!read.ok) return read;
    const [epoch, asId, named, target] = read.value as [
      string | null,
      string | null,
      string | null,
      string | null,
    ];
    this.#touch();
    if (epoch === null) return this.#gone();
    if (asId !== null) return ok(asId);
    if (named === knownId && target !== null) return ok(target);
    this.#known.names.delete(identifier);
    return this.#getByScript(identifier);
  }

  async #getByScript(identifier: Identifier): Promise<Result<string>> {
    const read = await this.#run(
      GET,
      [this.keys.hash],
      [identifier],
      `get of ${identifier}`,
      false,
    );
    if (!read.ok) return read;
    this.#touch();
    if (read.value === 0) return this.#gone();
    if (read.value === null) return err(StateErrors.notFound(identifier));
    const [named, stored] = read.value as [string, string];
    // Learn which id the name holds: the next get of it is one HMGET.
    if (named !== "" && this.#known.names.size < MAX_KNOWN)
      this.#known.names.set(identifier, named);
    return ok(stored);
  }

  async record(identifier: Identifier): Promise<Result<VariableRecord>> {
    const read = await this.#get(identifier);
    return read.ok ? ok(decodeRecord(read.value)) : read;
  }

  override async value(identifier: Identifier): Promise<Result<VariableValue>> {
    const read = await this.#get(identifier);
    return read.ok ? ok(decodeValue(read.value)) : read;
  }

  async #snapshot(
    identifiers: readonly string[],
    what: string,
    deadline: number,
  ): Promise<Result<Snapshot>> {
    const read = await this.#run(SNAPSHOT, [this.keys.hash], identifiers, what, false, deadline);
    if (!read.ok) return read;
    if (read.value === null) {
      this.#known.forget();
      return this.#gone();
    }
    this.#known.learn(identifiers, read.value as string[]);
    return ok(new Snapshot(this.#known, identifiers));
  }

  async records(
    identifiers: readonly Identifier[],
  ): Promise<Result<ReadonlyMap<Identifier, VariableRecord>>> {
    const unique = [...new Set(identifiers)];
    const read = await this.#snapshot(unique, "getVariables", Date.now() + this.#backend.timeoutMs);
    if (!read.ok) return read;
    this.#touch();
    const found = new Map<Identifier, VariableRecord>();
    for (const identifier of identifiers) {
      const record = read.value.resolve(identifier);
      if (record !== undefined) found.set(identifier, record);
    }
    return ok(found);
  }

  /** What the change feed retains of the variable, at most `maxVersionsPerVariable` versions. */
  override async history(
    identifier: Identifier,
    limit: number | undefined,
  ): Promise<Result<readonly VariableVersion[]>> {
    const read = await readHistory(identifier, {
      link: this.#backend.link,
      keys: this.keys,
      sessionId: this.sessionId,
      wanted: Math.min(
        limit ?? Number.POSITIVE_INFINITY,
        this.#backend.limits.maxVersionsPerVariable,
      ),
      deadline: Date.now() + this.#backend.timeoutMs,
    });
    if (read.ok) this.#touch();
    return read;
  }

  async list(): Promise<Result<readonly VariableRecord[]>> {
    const read = await this.#readAll("listVariables");
    return read.ok ? ok(read.value.records) : read;
  }

  async #readAll(what: string) {
    const read = await this.#run(READ_ALL, [this.keys.hash], [], what, false);
    if (!read.ok) return read;
    const hash = parseSessionHash(read.value);
    if (hash === undefined) return this.#gone();
    this.#touch();
    return ok({
      records: Object.freeze(hash.records.map((r) => r.record)),
      metadata: hash.metadata,
    });
  }

  async exportState(): Promise<Result<ExportedState>> {
    const read = await this.#readAll("exportState");
    if (!read.ok) return read;
    return ok(
      buildExport(this.sessionId, read.value.records, JSON.parse(read.value.metadata) as Metadata),
    );
  }

  #context(): PlanContext {
    return { limits: this.#backend.limits, now: Date.now() };
  }

  /**
   * Read what the call touches, plan with the core's rules, commit in one script on the
   * condition that nothing read has moved; re-plan when it has. One request id for every
   * attempt: a commit that applied but whose answer was lost is not applied again.
   */
  async #commit<T>(
    what: string,
    identifiers: () => readonly string[],
    plan: (view: Snapshot) => Result<Planned<T>> | "again",
    /** Whether the plan may start from what the session already knows (it needs no size). */
    guess = false,
    idempotent?: Idempotent<T>,
  ): Promise<Result<T>> {
    const backend = this.#backend;
    const deadline = Date.now() + backend.timeoutMs;
    const request = randomUUID();
    let fresh = !guess || !this.#known.covers(identifiers());
    // Once a commit went unanswered, every later one first looks for this request's entries
    // in the feed after `since` (the last commit known before the first attempt).
    let since: string | undefined;
    let ambiguous = false;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      let view: Snapshot;
      if (fresh) {
        const read = await this.#snapshot(identifiers(), what, deadline);
        if (!read.ok) return read;
        view = read.value;
      } else view = new Snapshot(this.#known, identifiers());
      since ??= String(view.seq);
      const planned = plan(view);
      if (planned === "again") continue;
      if (!planned.ok && !fresh) {
        // Planned from what this process last saw: another may have moved the variable since
        // (a compare-and-set against its new version would be refused). Only a plan from a
        // fresh read is an answer.
        fresh = true;
        continue;
      }
      if (!planned.ok) {
        // A retry of a write that applied may fail its plan (the version moved on): its answer.
        if (idempotent === undefined) return planned;
        const first = await this.#applied(idempotent, what, deadline);
        return first === undefined ? planned : first;
      }
      const { changes, metadata, answer, structural } = planned.value;
      const conditions = structural ? view.conditions : view.updateConditions(changes);
      if (changes.length === 0 && metadata === undefined) return ok(answer);
      const args = [
        view.epoch,
        String(backend.ttlMs),
        String(
          Number.isFinite(backend.limits.maxVariablesPerSession)
            ? backend.limits.maxVariablesPerSession
            : -1,
        ),
        String(backend.feedRetention),
        request,
        ambiguous ? since : "",
        metadata ?? "",
        structural ? "1" : "",
        String(conditions.size),
      ];
      for (const [field, value] of conditions) args.push(field, value);
      args.push(String(changes.length));
      for (const { kind, record, previous, timestamp } of changes) {
        args.push(
          kind,
          record.id,
          record.name,
          previous?.name ?? "",
          encodeRecord(record),
          previous === undefined ? "" : encodeValueJson(previous.type, previous.value),
          String(timestamp),
        );
      }
      args.push(idempotent?.requestId ?? "", idempotent?.encode(answer) ?? "");
      const committed = await runScript(
        backend.link,
        COMMIT,
        [this.keys.hash, this.keys.feed, this.keys.bell, this.keys.requests],
        args,
        {
          deadline,
          what,
          write: true,
          onAmbiguous: () => {
            ambiguous = true;
            args[5] = since as string;
          },
        },
      );
      if (!committed.ok) return committed;
      const [status, seq, stored] = committed.value as [string, string | number, string?];
      if (status === "replayed" || status === "expired") {
        return this.#replayed(idempotent as Idempotent<T>, status, String(seq), stored, what);
      }
      if (status === "ok" || status === "done") {
        this.#touched = Date.now();
        this.#known.committed(changes, String(seq), request, structural);
        return ok(answer);
      }
      if (status === "unknown") {
        return err(
          StateErrors.unavailable(
            `${what}: Redis did not answer in time and the change feed no longer tells whether it applied (read it back before retrying)`,
          ),
        );
      }
      // A guess that moved (or a session created anew) is read again; a fresh read is the answer.
      if (status === "gone" && fresh) return this.#gone();
      fresh = true;
    }
    return err(
      StateErrors.unavailable(
        `${what}: other writers kept changing what it read; gave up after ${MAX_ATTEMPTS} attempts`,
      ),
    );
  }

  /** The answer of a commit that already applied `idempotent.requestId`; undefined when none. */
  async #applied<T>(
    idempotent: Idempotent<T>,
    what: string,
    deadline: number,
  ): Promise<Result<T> | undefined> {
    const read = await this.#run(
      LOOKUP,
      [this.keys.feed, this.keys.requests],
      [idempotent.requestId],
      what,
      false,
      deadline,
    );
    if (!read.ok) return read;
    if (read.value === null) return undefined;
    const [status, seq, stored] = read.value as [string, string, string?];
    return this.#replayed(idempotent, status, seq, stored, what);
  }

  #replayed<T>(
    idempotent: Idempotent<T>,
    status: string,
    seq: string,
    stored: string | undefined,
    what: string,
  ): Result<T> {
    // Another attempt's records, not this plan's, were committed: read afresh next time.
    this.#known.forget();
    if (status === "replayed") return ok(idempotent.decode(stored as string));
    return err(
      StateErrors.unavailable(
        `${what}: request id ${JSON.stringify(idempotent.requestId)} was applied by commit ${seq}, which the change feed no longer retains, so its answer is lost (read the variable back)`,
      ),
    );
  }

  register(input: RegistrationInput, requestId?: string): Promise<Result<VariableRecord>> {
    const name = typeof input.name === "string" ? input.name : undefined;
    let id = newVariableId(() => false);
    return this.#commit(
      `registerVariable ${JSON.stringify(name)}`,
      () => (name === undefined ? [id] : [name, id]),
      (view) => {
        if (view.taken(id)) {
          id = newVariableId((candidate) => candidate === id);
          return "again";
        }
        const planned = planRegistration(view, input, id, this.#context());
        if (!planned.ok) return planned;
        return ok({ structural: true, changes: [planned.value], answer: planned.value.record });
      },
      false,
      recordAnswer(requestId),
    );
  }

  write(
    identifier: Identifier,
    value: unknown,
    metadata: Metadata,
    expectedVersion: number | undefined,
    requestId?: string,
  ): Promise<Result<Versioned>> {
    return this.#commit<Versioned>(
      `setVariable ${JSON.stringify(identifier)}`,
      () => [identifier],
      (view) => {
        const planned = planWrite(
          view,
          identifier,
          value,
          metadata,
          expectedVersion,
          this.#context(),
        );
        if (!planned.ok) return planned;
        return ok({ structural: false, changes: [planned.value], answer: planned.value.record });
      },
      true,
      requestId === undefined
        ? undefined
        : {
            requestId,
            encode: ({ version }) => String(version),
            decode: (stored) => ({ version: Number(stored) }),
          },
    );
  }

  writeMany(
    updates: readonly (readonly [Identifier, unknown])[],
    metadata: Metadata,
    expectedVersions: Readonly<Record<Identifier, number>> | undefined,
    requestId?: string,
  ): Promise<Result<Readonly<Record<Identifier, number>>>> {
    const identifiers = [...new Set(updates.map(([identifier]) => identifier))];
    return this.#commit<Readonly<Record<Identifier, number>>>(
      "updateVariables",
      () => identifiers,
      (view) => {
        const planned = planBatch(view, updates, metadata, expectedVersions, true, this.#context());
        if (!planned.ok) return planned;
        const outcome = batchOutcome(planned.value);
        if (!outcome.ok) return outcome;
        return ok({ structural: false, changes: planned.value.changes, answer: outcome.value });
      },
      true,
      requestId === undefined
        ? undefined
        : {
            requestId,
            encode: (versions) => JSON.stringify(Object.entries(versions)),
            decode: (stored) => {
              // Entries, not an object: identifiers may be `__proto__`.
              const versions: Record<Identifier, number> = {};
              for (const [identifier, version] of JSON.parse(stored) as [string, number][])
                define(versions, identifier, version);
              return versions;
            },
          },
    );
  }

  remove(identifier: Identifier, requestId?: string): Promise<Result<VariableRecord>> {
    return this.#commit(
      `deleteVariable ${JSON.stringify(identifier)}`,
      () => [identifier],
      (view) => {
        const planned = planDelete(view, identifier, this.#context());
        if (!planned.ok) return planned;
        return ok({ structural: true, changes: [planned.value], answer: planned.value.record });
      },
      true,
      recordAnswer(requestId),
    );
  }

  import(parsed: ParsedExport): Promise<Result<undefined>> {
    const identifiers = [...new Set(parsed.records.flatMap((record) => [record.id, record.name]))];
    return this.#commit(
      "importState",
      () => identifiers,
      (view) => {
        const current = JSON.parse(view.metadata) as Metadata;
        const planned = planImport(view, parsed, current, this.#context());
        if (!planned.ok) return planned;
        view.conditions.set("metadata", view.metadata);
        const metadata = JSON.stringify(planned.value.sessionMetadata);
        return ok({
          structural: true,
          changes: planned.value.changes,
          ...(metadata === view.metadata ? {} : { metadata }),
          answer: undefined,
        });
      },
    );
  }

  override async subscribe(
    pattern: string,
    subscriber: Subscriber,
  ): Promise<Result<SubscriptionId>> {
    const joined = await this.subscribeAfter(pattern, subscriber, undefined);
    return joined.ok ? ok(joined.value.subscription) : joined;
  }

  /** `subscribe`, first replaying what was committed after `after` (see RedisState.resume). */
  async subscribeAfter(
    pattern: string,
    subscriber: Subscriber,
    after: FeedCursor | undefined,
  ): Promise<Result<Resumed>> {
    const feed = this.#backend.feed(this.sessionId, this.keys);
    this.#feed = feed;
    feed.joining++;
    let joined: Result<{ readonly id: SubscriptionId; readonly resumed: boolean }>;
    try {
      const started = await feed.start();
      joined = started.ok ? await feed.join(pattern, subscriber, after) : started;
    } finally {
      feed.joining--;
    }
    // Cleaned up meanwhile, or no feed: nothing of this call stays behind.
    const refused: Result<never> | undefined = this.closed
      ? err(StateErrors.closed(this.#backend.name))
      : joined.ok
        ? undefined
        : joined.error.code === "session_not_found"
          ? this.#gone()
          : joined;
    if (refused !== undefined) {
      if (joined.ok) feed.subscribers.remove(joined.value.id);
      if (feed.subscribers.size === 0) await this.#backend.releaseFeed(this.sessionId);
      return refused;
    }
    const { id, resumed } = (joined as { value: { id: SubscriptionId; resumed: boolean } }).value;
    this.#subscriptions.add(id);
    return ok({ subscription: id, resumed });
  }

  /**
   * Calls `listener` once when the change feed finds the session gone (deleted or expired, by
   * any process). Only while this session has a subscription: the feed is what notices.
   */
  onEnd(listener: () => void): () => void {
    const feed = this.#feed;
    if (feed === undefined || this.#subscriptions.size === 0) return () => {};
    feed.endListeners.add(listener);
    return () => {
      feed.endListeners.delete(listener);
    };
  }

  override async unsubscribe(subscription: SubscriptionId): Promise<Result<undefined>> {
    if (!this.#subscriptions.delete(subscription) || this.#feed === undefined) return ok();
    this.#feed.subscribers.remove(subscription);
    if (this.#feed.subscribers.size === 0) await this.#backend.releaseFeed(this.sessionId);
    return ok();
  }

  async close(): Promise<void> {
    if (this.#feed !== undefined) {
      for (const subscription of this.#subscriptions) this.#feed.subscribers.remove(subscription);
      this.#subscriptions.clear();
      if (this.#feed.subscribers.size === 0) await this.#backend.releaseFeed(this.sessionId);
    }
    await this.#backend.release(this);
  }
}
