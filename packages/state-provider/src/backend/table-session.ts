import type {
  Capabilities,
  Identifier,
  Metadata,
  Subscriber,
  SubscriptionId,
  VariableRecord,
  VariableVersion,
} from "../contract.js";
import type { ExportedState, ParsedExport } from "../export-format.js";
import { ok, type Result } from "../result.js";
import type { SubscriberErrorHandler } from "../subscribers.js";
import type { RegistrationInput } from "../types/validation.js";
import type { VariableValue } from "../types/variable-types.js";
import { BackendSession, type OpenRequest } from "./define-provider.js";
import type { StoreLimits } from "./limits.js";
import { VariableTable } from "./variable-table.js";

/** What a backend whose sessions are `TableSession`s delivers: the table's guarantees. */
export const TABLE_CAPABILITIES: Capabilities = Object.freeze({
  atomicUpdates: true,
  streaming: true,
  persistence: false,
  distribution: false,
  compareAndSet: true,
  history: true,
});

/**
 * A session whose variables live in this process, in a `VariableTable`: what LocalState and the
 * MemoryProvider hand out. Atomic batches, compare-and-set and events come with the table.
 */
export class TableSession extends BackendSession {
  readonly table: VariableTable;

  constructor(sessionId: string, table: VariableTable) {
    super(sessionId);
    this.table = table;
  }

  record(identifier: Identifier): Result<VariableRecord> {
    return this.table.record(identifier);
  }

  override value(identifier: Identifier): Result<VariableValue> {
    return this.table.value(identifier);
  }

  records(identifiers: readonly Identifier[]): Result<ReadonlyMap<Identifier, VariableRecord>> {
    return ok(this.table.records(identifiers));
  }

  list(): Result<readonly VariableRecord[]> {
    return ok(this.table.list());
  }

  register(input: RegistrationInput): Result<VariableRecord> {
    return this.table.register(input);
  }

  write(
    identifier: Identifier,
    value: unknown,
    metadata: Metadata,
    expectedVersion: number | undefined,
  ): Result<VariableRecord> {
    return this.table.write(identifier, value, metadata, expectedVersion);
  }

  writeMany(
    updates: readonly (readonly [Identifier, unknown])[],
    metadata: Metadata,
    expectedVersions: Readonly<Record<Identifier, number>> | undefined,
  ): Result<Readonly<Record<Identifier, number>>> {
    return this.table.writeMany(updates, metadata, expectedVersions);
  }

  remove(identifier: Identifier): Result<VariableRecord> {
    return this.table.remove(identifier);
  }

  exportState(): Result<ExportedState> {
    return ok(this.table.export(this.sessionId));
  }

  import(parsed: ParsedExport): Result<undefined> {
    return this.table.import(parsed);
  }

  override history(
    identifier: Identifier,
    limit: number | undefined,
  ): Result<readonly VariableVersion[]> {
    return this.table.history(identifier, limit);
  }

  override subscribe(pattern: string, subscriber: Subscriber): Result<SubscriptionId> {
    return ok(this.table.subscribe(pattern, subscriber));
  }

  override unsubscribe(subscription: SubscriptionId): Result<undefined> {
    this.table.unsubscribe(subscription);
    return ok();
  }

  close(): void {
    this.table.clear();
  }
}

export interface TableSessionOptions {
  readonly limits?: StoreLimits;
  readonly onSubscriberError?: SubscriberErrorHandler;
}

/** Opens a `TableSession` for an `init`: a new table with the request's metadata and records. */
export function openTableSession(
  request: OpenRequest,
  options: TableSessionOptions = {},
): Result<TableSession> {
  const table = new VariableTable({ ...options, metadata: request.metadata });
  if (request.existing !== undefined) {
    const imported = table.import(request.existing);
    if (!imported.ok) return imported;
  }
  return ok(new TableSession(request.sessionId, table));
}
