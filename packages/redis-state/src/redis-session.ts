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
} from "@dspex/state-provider";
import {
  BackendSession,
  batchOutcome,
  type Change,
  newVariableId,
  type PlanContext,
  planBatch,
  planDelete,
  planImport,
  planRegistration,
  planWrite,
  type RecordView,
  type StoreLimits,
} from "@dspex/state-provider/backend";
import { decodeRecord, encodeRecord } from "./codec.js";
import type { ChangeFeed } from "./feed.js";
import { parseSessionHash } from "./hash.js";
import type { SessionKeys } from "./keys.js";
import type { Link } from "./link.js";
import { runScript } from "./runner.js";
import { COMMIT, GET, READ_ALL, SNAPSHOT, TOUCH } from "./scripts.js";

/** What a session needs from its provider. */
export interface SessionBackend {
  readonly name: string;
  readonly link: Link;
  readonly limits: StoreLimits;
  readonly ttlMs: number;
  readonly timeoutMs: number;
  readonly feedRetention: number;
  readonly requestTtlMs: number;
  feed(sessionId: string, keys: SessionKeys): ChangeFeed;
  releaseFeed(sessionId: string): Promise<void>;
  release(session: RedisSession): Promise<void>;
}

/** Reads and commits that conflict with other writers are re-planned at most this often. */
const MAX_ATTEMPTS = 32;

interface Loaded {
  readonly record: VariableRecord | undefined;
  readonly rev: string;
}

/**
 * The records one call read (each identifier as an id and as a name), as the plans see them,
 * and the conditions its commit is made on: every record and name entry read is unchanged.
 */
class Snapshot implements RecordView {
  readonly epoch: string;
  readonly size: number;
  readonly metadata: string;
  readonly #asId = new Map<string, Loaded>();
  readonly #named = new Map<string, string>();
  readonly #byId = new Map<VariableId, VariableRecord>();
  readonly conditions = new Map<string, string>();

  constructor(identifiers: readonly string[], reply: string[]) {
    this.epoch = reply[0] as string;
    this.size = Number(reply[1]);
    this.metadata = reply[2] as string;
    for (let i = 0; i < identifiers.length; i++) {
      const ident = identifiers[i] as string;
      const at = 3 + i * 5;
      const [blob, rev, named, targetBlob, targetRev] = reply.slice(at, at + 5) as string[];
      const record = blob === "" ? undefined : decodeRecord(blob as string);
      this.#asId.set(ident, { record, rev: rev as string });
      this.#named.set(ident, named as string);
      this.conditions.set(`v:${ident}`, rev as string);
      this.conditions.set(`n:${ident}`, named as string);
      if (record !== undefined) this.#byId.set(record.id, record);
      if (named !== "") {
        this.conditions.set(`v:${named}`, targetRev as string);
        if (targetBlob !== "") this.#byId.set(named as string, decodeRecord(targetBlob as string));
      }
    }
  }

  resolve(identifier: Identifier): VariableRecord | undefined {
    const asId = this.#loaded(identifier).record;
    if (asId !== undefined) return asId;
    const named = this.#named.get(identifier);
    return named === "" || named === undefined ? undefined : this.#byId.get(named);
  }

  byId(id: VariableId): VariableRecord | undefined {
    return this.#byId.get(id) ?? this.#loaded(id).record;
  }

  idOfName(name: string): VariableId | undefined {
    this.#loaded(name);
    const named = this.#named.get(name);
    return named === "" ? undefined : named;
  }

  /** Whether an identifier read is in use as an id or a name (for a new variable's id). */
  taken(identifier: string): boolean {
    return this.#loaded(identifier).record !== undefined || this.#named.get(identifier) !== "";
  }

  #loaded(identifier: string): Loaded {
    const loaded = this.#asId.get(identifier);
    // A plan asking about what the call did not read is a bug here, not a caller's mistake.
    if (loaded === undefined)
      throw new Error(`RedisState: ${identifier} was not read before planning`);
    return loaded;
  }
}

interface Planned<T> {
  readonly changes: readonly Change[];
  /** New session metadata JSON, when the change sets it. */
  readonly metadata?: string;
  readonly answer: T;
}

/** One open session on Redis: reads are one script each; every write is read, plan, commit. */
export class RedisSession extends BackendSession {
  readonly keys: SessionKeys;
  readonly #backend: SessionBackend;
  readonly #subscriptions = new Set<SubscriptionId>();
  #feed: ChangeFeed | undefined;
  #touched = Date.now();

  constructor(sessionId: string, keys: SessionKeys, backend: SessionBackend) {
    super(sessionId);
    this.keys = keys;
    this.#backend = backend;
  }

  #run(
    script: typeof GET,
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
      [this.keys.hash, this.keys.feed],
      [String(this.#backend.ttlMs)],
      "touch",
      true,
    );
  }

  async #get(identifier: Identifier): Promise<Result<VariableRecord>> {
    const read = await this.#run(
      GET,
      [this.keys.hash],
      [identifier],
      `get ${JSON.stringify(identifier)}`,
      false,
    );
    if (!read.ok) return read;
    this.#touch();
    if (read.value === 0) return this.#gone();
    if (read.value === null) return err(StateErrors.notFound(identifier));
    return ok(decodeRecord(read.value as string));
  }

  record(identifier: Identifier): Promise<Result<VariableRecord>> {
    return this.#get(identifier);
  }

  override async value(identifier: Identifier): Promise<Result<VariableValue>> {
    const record = await this.#get(identifier);
    return record.ok ? ok(record.value.value) : record;
  }

  async #snapshot(
    identifiers: readonly string[],
    what: string,
    deadline: number,
  ): Promise<Result<Snapshot>> {
    const read = await this.#run(SNAPSHOT, [this.keys.hash], identifiers, what, false, deadline);
    if (!read.ok) return read;
    if (read.value === null) return this.#gone();
    return ok(new Snapshot(identifiers, read.value as string[]));
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
  ): Promise<Result<T>> {
    const backend = this.#backend;
    const deadline = Date.now() + backend.timeoutMs;
    const request = `${this.keys.requestPrefix}${randomUUID()}`;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const read = await this.#snapshot(identifiers(), what, deadline);
      if (!read.ok) return read;
      const view = read.value;
      const planned = plan(view);
      if (planned === "again") continue;
      if (!planned.ok) return planned;
      const { changes, metadata, answer } = planned.value;
      if (changes.length === 0 && metadata === undefined) return ok(answer);
      const args = [
        view.epoch,
        String(backend.ttlMs),
        String(Number.isFinite(backend.limits.maxVariables) ? backend.limits.maxVariables : -1),
        String(backend.feedRetention),
        String(backend.requestTtlMs),
        metadata ?? "",
        String(view.conditions.size),
      ];
      for (const [field, value] of view.conditions) args.push(field, value);
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
      const keys = [this.keys.hash, this.keys.feed, request, this.keys.bell];
      const committed = await this.#run(COMMIT, keys, args, what, true, deadline);
      if (!committed.ok) return committed;
      const status = (committed.value as string[])[0];
      if (status === "ok" || status === "done") {
        this.#touched = Date.now();
        return ok(answer);
      }
      if (status === "gone") return this.#gone();
    }
    return err(
      StateErrors.unavailable(
        `${what}: other writers kept changing what it read; gave up after ${MAX_ATTEMPTS} attempts`,
      ),
    );
  }

  register(input: RegistrationInput): Promise<Result<VariableRecord>> {
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
        return ok({ changes: [planned.value], answer: planned.value.record });
      },
    );
  }

  write(
    identifier: Identifier,
    value: unknown,
    metadata: Metadata,
    expectedVersion: number | undefined,
  ): Promise<Result<VariableRecord>> {
    return this.#commit(
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
        return ok({ changes: [planned.value], answer: planned.value.record });
      },
    );
  }

  writeMany(
    updates: readonly (readonly [Identifier, unknown])[],
    metadata: Metadata,
    expectedVersions: Readonly<Record<Identifier, number>> | undefined,
  ): Promise<Result<ReadonlyMap<Identifier, VariableRecord>>> {
    const identifiers = [...new Set(updates.map(([identifier]) => identifier))];
    return this.#commit(
      "updateVariables",
      () => identifiers,
      (view) => {
        const planned = planBatch(view, updates, metadata, expectedVersions, true, this.#context());
        if (!planned.ok) return planned;
        const outcome = batchOutcome(planned.value);
        if (!outcome.ok) return outcome;
        return ok({ changes: planned.value.changes, answer: outcome.value });
      },
    );
  }

  remove(identifier: Identifier): Promise<Result<VariableRecord>> {
    return this.#commit(
      `deleteVariable ${JSON.stringify(identifier)}`,
      () => [identifier],
      (view) => {
        const planned = planDelete(view, identifier, this.#context());
        if (!planned.ok) return planned;
        return ok({ changes: [planned.value], answer: planned.value.record });
      },
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
    const feed = this.#backend.feed(this.sessionId, this.keys);
    this.#feed = feed;
    const started = await feed.start();
    if (!started.ok) {
      if (feed.subscribers.size === 0) await this.#backend.releaseFeed(this.sessionId);
      return started.error.code === "session_not_found" ? this.#gone() : started;
    }
    // Everything committed before this call is heard by earlier subscribers only.
    await feed.catchUp();
    const id = feed.subscribers.add(pattern, subscriber);
    this.#subscriptions.add(id);
    return ok(id);
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
