import {
  err,
  type Identifier,
  type Metadata,
  ok,
  type ParsedExport,
  type RegistrationInput,
  type Result,
  StateErrors,
  type VariableRecord,
} from "@dspex/state-provider";
import { define } from "@dspex/state-provider/backend";
import {
  ALWAYS_AVAILABLE,
  type BatchApplied,
  type BridgeStore,
  type ReadOptions,
  type SetOptions,
  type StoreWatch,
  type UpdateOptions,
  type WatchListener,
} from "./bridge-store.js";
import type { SessionInfo, SessionStore } from "./session-store.js";

/**
 * The in-memory `SessionStore` as a `BridgeStore`: each call is the store's synchronous one, so
 * a write and its events still happen in one step. Its events carry no cursor (the store keeps
 * no feed), so a watcher that reconnects catches up from a snapshot. Request ids are not kept:
 * one process cannot fail a write ambiguously to itself, and no other bridge shares its memory.
 */
export class MemoryBridgeStore implements BridgeStore {
  readonly description = "memory";
  readonly health = ALWAYS_AVAILABLE;

  constructor(readonly sessions: SessionStore) {}

  async createSession(sessionId: string, metadata: Metadata): Promise<Result<SessionInfo>> {
    return this.sessions.createSession(sessionId, { metadata });
  }

  async getSession(sessionId: string): Promise<Result<SessionInfo>> {
    return this.sessions.getSession(sessionId);
  }

  async touch(sessionId: string): Promise<Result<undefined>> {
    if (this.sessions.closed) return err(StateErrors.closed("SessionStore"));
    return this.sessions.touch(sessionId) ? ok() : err(StateErrors.sessionNotFound(sessionId));
  }

  async deleteSession(sessionId: string): Promise<Result<number>> {
    return this.sessions.deleteSession(sessionId);
  }

  async listSessions(): Promise<Result<readonly SessionInfo[]>> {
    if (this.sessions.closed) return err(StateErrors.closed("SessionStore"));
    return ok(this.sessions.listSessions());
  }

  async register(sessionId: string, input: RegistrationInput): Promise<Result<VariableRecord>> {
    return this.sessions.register(sessionId, input);
  }

  async get(sessionId: string, identifier: Identifier): Promise<Result<VariableRecord>> {
    return this.sessions.get(sessionId, identifier);
  }

  async getMany(
    sessionId: string,
    identifiers: readonly Identifier[],
  ): Promise<Result<ReadonlyMap<Identifier, VariableRecord>>> {
    const got = this.sessions.getMany(sessionId, identifiers);
    return got.ok ? ok(got.value.found) : got;
  }

  async list(sessionId: string, options?: ReadOptions): Promise<Result<readonly VariableRecord[]>> {
    if (options?.touch === false) {
      const listed = this.sessions.peekList(sessionId);
      return listed === undefined ? err(StateErrors.sessionNotFound(sessionId)) : ok(listed);
    }
    return this.sessions.list(sessionId);
  }

  async set(
    sessionId: string,
    identifier: Identifier,
    value: unknown,
    metadata: Metadata,
    options: SetOptions,
  ): Promise<Result<number>> {
    const written = this.sessions.set(
      sessionId,
      identifier,
      value,
      metadata,
      options.expectedVersion,
    );
    return written.ok ? ok(written.value.version) : written;
  }

  async update(
    sessionId: string,
    updates: ReadonlyMap<Identifier, unknown>,
    metadata: Metadata,
    options: UpdateOptions,
  ): Promise<Result<BatchApplied>> {
    const pending = new Map<Identifier, { value: unknown }>();
    for (const [identifier, value] of updates) pending.set(identifier, { value });
    const written = this.sessions.update(sessionId, pending, metadata, {
      atomic: options.atomic,
      ...(options.expectedVersions === undefined
        ? {}
        : { expectedVersions: options.expectedVersions }),
    });
    if (written.ok) return ok({ versions: written.value });
    const failure = written.error;
    if (failure.code !== "partial_failure" || failure.applied.length === 0) return written;
    // Synchronous: nothing ran between the batch and these reads, so they are its versions.
    const versions: Record<Identifier, number> = {};
    for (const identifier of failure.applied) {
      const record = this.sessions.peekByIdentifier(sessionId, identifier);
      if (record !== undefined) define(versions, identifier, record.version);
    }
    return ok({ versions, failure });
  }

  async delete(sessionId: string, identifier: Identifier): Promise<Result<undefined>> {
    const deleted = this.sessions.delete(sessionId, identifier);
    return deleted.ok ? ok() : deleted;
  }

  async import(sessionId: string, parsed: ParsedExport): Promise<Result<number>> {
    return this.sessions.importParsed(sessionId, parsed);
  }

  async history(
    sessionId: string,
    identifier: Identifier,
    limit: number | undefined,
    options?: ReadOptions,
  ): Promise<Result<readonly VariableRecord[]>> {
    return options?.touch === false
      ? this.sessions.peekHistory(sessionId, identifier, limit)
      : this.sessions.history(sessionId, identifier, limit);
  }

  async watch(sessionId: string, listener: WatchListener): Promise<Result<StoreWatch>> {
    const subscribed = this.sessions.subscribe(sessionId, "*", (event) => listener.change(event));
    if (!subscribed.ok) return subscribed;
    const ending = this.sessions.onSessionEnd(sessionId, (reason) => listener.end(reason));
    if (!ending.ok) {
      this.sessions.unsubscribe(sessionId, subscribed.value);
      return ending;
    }
    let closed = false;
    return ok({
      resumed: false,
      close: () => {
        if (closed) return;
        closed = true;
        this.sessions.unsubscribe(sessionId, subscribed.value);
        ending.value();
      },
    });
  }

  async close(): Promise<void> {
    this.sessions.close();
  }
}
