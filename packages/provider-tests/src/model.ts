/*
 * A small, pure reference model of the contract, written from the contract README without the
 * state-provider's checks, so that a backend (or a shared helper) that gets a rule wrong
 * disagrees with it. It knows only what the model-based test generates: float, integer, string,
 * boolean, choice and embedding variables with valid names, metadata and constraints.
 */

export type ModelType = "float" | "integer" | "string" | "boolean" | "choice" | "embedding";
export type ModelConstraints = Readonly<Record<string, unknown>>;
export type ModelValue = number | string | boolean | readonly number[];
export type ModelMetadata = Readonly<Record<string, string>>;

export interface ModelRecord {
  readonly id: string;
  readonly name: string;
  readonly type: ModelType;
  readonly value: ModelValue;
  readonly constraints: ModelConstraints;
  readonly metadata: ModelMetadata;
  readonly version: number;
  readonly source: string;
}

export interface ModelEvent {
  readonly kind: "registered" | "updated" | "deleted";
  readonly record: ModelRecord;
  readonly previousValue: ModelValue | undefined;
}

/** What a call must answer: ok (with a value to compare, when known) or one of the error codes. */
export type Expected =
  | { readonly ok: true; readonly value?: unknown }
  | {
      readonly ok: false;
      /** Every code the contract allows here (more than one only where the README is silent). */
      readonly codes: readonly string[];
      readonly detail?: Readonly<Record<string, unknown>>;
      /** partial_failure: every acceptable `failed` (identifier → acceptable code[:rule]s) and `applied`. */
      readonly batch?: readonly { failed: Record<string, string[]>; applied: string[] }[];
    };

export type Checked = { ok: true; value: ModelValue } | { ok: false; rule: string };

const DEFAULT_SOURCE = "typescript";

/** The value rules of the contract README's type table, written out independently. */
export function checkModelValue(
  type: ModelType,
  constraints: ModelConstraints,
  value: unknown,
): Checked {
  const c = constraints as {
    min?: number;
    max?: number;
    minLength?: number;
    maxLength?: number;
    pattern?: string;
    enum?: string[];
    choices?: string[];
    dimensions?: number;
  };
  const range = (n: number): Checked => {
    // Inclusive bounds; NaN is neither above nor below, so it fails both.
    if (c.min !== undefined && !(n >= c.min)) return { ok: false, rule: "min" };
    if (c.max !== undefined && !(n <= c.max)) return { ok: false, rule: "max" };
    return { ok: true, value: Object.is(n, -0) ? 0 : n };
  };
  switch (type) {
    case "float":
      return typeof value === "number" ? range(value) : { ok: false, rule: "type" };
    case "integer": {
      let n = value;
      if (typeof n === "bigint") {
        if (n > 9007199254740991n || n < -9007199254740991n) return { ok: false, rule: "type" };
        n = Number(n);
      }
      // A safe integer exactly: 1 + 1e-10 is not one, whatever rounding would make of it.
      if (typeof n !== "number" || !Number.isSafeInteger(n)) return { ok: false, rule: "type" };
      return range(n);
    }
    case "string": {
      if (typeof value !== "string") return { ok: false, rule: "type" };
      const length = Array.from(value).length;
      if (c.minLength !== undefined && length < c.minLength)
        return { ok: false, rule: "minLength" };
      if (c.maxLength !== undefined && length > c.maxLength)
        return { ok: false, rule: "maxLength" };
      // A search, not a full match: anchors are the pattern's own business.
      if (c.pattern !== undefined && !new RegExp(c.pattern, "u").test(value))
        return { ok: false, rule: "pattern" };
      if (c.enum !== undefined && !c.enum.includes(value)) return { ok: false, rule: "enum" };
      return { ok: true, value };
    }
    case "boolean":
      return typeof value === "boolean" ? { ok: true, value } : { ok: false, rule: "type" };
    case "choice":
      if (typeof value !== "string") return { ok: false, rule: "type" };
      // Exact and case-sensitive.
      return c.choices?.includes(value) ? { ok: true, value } : { ok: false, rule: "choices" };
    case "embedding": {
      if (!Array.isArray(value)) return { ok: false, rule: "type" };
      const out: number[] = [];
      for (const n of value) {
        if (typeof n !== "number" || !Number.isFinite(n)) return { ok: false, rule: "type" };
        out.push(Object.is(n, -0) ? 0 : n);
      }
      if (c.dimensions !== undefined && out.length !== c.dimensions)
        return { ok: false, rule: "dimensions" };
      return { ok: true, value: out };
    }
  }
}

/** Glob over names, matched character by character (no regex): `*` any run, `?` one character. */
export function globMatches(pattern: string, name: string): boolean {
  const p = Array.from(pattern);
  const n = Array.from(name);
  const match = (i: number, j: number): boolean => {
    if (i === p.length) return j === n.length;
    if (p[i] === "*") return match(i + 1, j) || (j < n.length && match(i, j + 1));
    if (j === n.length) return false;
    return (p[i] === "?" || p[i] === n[j]) && match(i + 1, j + 1);
  };
  return match(0, 0);
}

const sourceOf = (metadata: ModelMetadata) => metadata.source ?? DEFAULT_SOURCE;
const merged = (current: ModelMetadata, update: ModelMetadata) => ({ ...current, ...update });

export interface ModelCapabilities {
  readonly atomicUpdates: boolean;
  readonly compareAndSet: boolean;
  readonly streaming: boolean;
}

/** One session of the contract: records in registration order, subscriptions, events. */
export class ContractModel {
  records: ModelRecord[] = [];
  subscriptions: { id: string; pattern: string }[] = [];
  /** Events of the last call, in commit order. */
  events: ModelEvent[] = [];

  constructor(readonly capabilities: ModelCapabilities) {}

  resolve(identifier: string): ModelRecord | undefined {
    return (
      this.records.find((r) => r.id === identifier) ??
      this.records.find((r) => r.name === identifier)
    );
  }

  #put(record: ModelRecord): void {
    const at = this.records.findIndex((r) => r.id === record.id);
    if (at >= 0) this.records[at] = record;
    else this.records.push(record);
  }

  register(
    id: () => string,
    name: string,
    type: ModelType,
    value: unknown,
    constraints: ModelConstraints,
    metadata: ModelMetadata,
  ): Expected {
    this.events = [];
    const checked = checkModelValue(type, constraints, value);
    if (!checked.ok) return fail("validation_failed", { rule: checked.rule });
    if (this.records.some((r) => r.name === name))
      return fail("already_exists", { identifier: name });
    const record: ModelRecord = {
      id: id(),
      name,
      type,
      value: checked.value,
      constraints: { ...constraints },
      metadata: { ...metadata },
      version: 1,
      source: sourceOf(metadata),
    };
    this.records.push(record);
    this.events = [{ kind: "registered", record, previousValue: undefined }];
    return { ok: true };
  }

  set(
    identifier: string,
    value: unknown,
    metadata: ModelMetadata | undefined,
    expectedVersion: number | undefined,
  ): Expected {
    this.events = [];
    const current = this.resolve(identifier);
    if (expectedVersion !== undefined && !this.capabilities.compareAndSet)
      return current ? fail("unsupported") : failAny(["not_found", "unsupported"]);
    if (!current) return fail("not_found", { identifier });
    const checked = checkModelValue(current.type, current.constraints, value);
    if (expectedVersion !== undefined && expectedVersion !== current.version) {
      // Which check comes first is not stated: both answers are the contract's.
      return checked.ok
        ? fail("version_conflict", {
            identifier,
            expectedVersion,
            actualVersion: current.version,
          })
        : failAny(["version_conflict", "validation_failed"]);
    }
    if (!checked.ok) return fail("validation_failed", { rule: checked.rule });
    const next = this.#written(current, checked.value, metadata ?? {});
    this.#put(next);
    this.events = [{ kind: "updated", record: next, previousValue: current.value }];
    return { ok: true, value: next.version };
  }

  #written(current: ModelRecord, value: ModelValue, update: ModelMetadata): ModelRecord {
    return {
      ...current,
      value,
      metadata: merged(current.metadata, update),
      version: current.version + 1,
      source: sourceOf(update),
    };
  }

  update(
    updates: Readonly<Record<string, unknown>>,
    metadata: ModelMetadata | undefined,
    expectedVersions: Readonly<Record<string, number>> | undefined,
  ): Expected {
    this.events = [];
    if (expectedVersions !== undefined && !this.capabilities.compareAndSet)
      return fail("unsupported");
    // Atomic backends validate every entry before applying any. Whether a later entry for the
    // same variable sees the version a failed earlier entry would have written is not stated.
    const variants = this.capabilities.atomicUpdates ? [false, true] : [false];
    const outcomes = variants.map((advanceOnFailure) =>
      this.#planBatch(updates, metadata ?? {}, expectedVersions, advanceOnFailure),
    );
    const first = outcomes[0]!;
    if (Object.keys(first.failed).length === 0) {
      for (const { next, previous } of first.writes) {
        this.#put(next);
        this.events.push({ kind: "updated", record: next, previousValue: previous });
      }
      return { ok: true, value: first.versions };
    }
    if (!this.capabilities.atomicUpdates) {
      for (const { next, previous } of first.writes) {
        this.#put(next);
        this.events.push({ kind: "updated", record: next, previousValue: previous });
      }
    }
    return {
      ok: false,
      codes: ["partial_failure"],
      batch: outcomes.map((o) => ({
        failed: o.failed,
        applied: this.capabilities.atomicUpdates ? [] : o.applied,
      })),
    };
  }

  #planBatch(
    updates: Readonly<Record<string, unknown>>,
    metadata: ModelMetadata,
    expectedVersions: Readonly<Record<string, number>> | undefined,
    advanceOnFailure: boolean,
  ) {
    const pending = new Map<string, ModelRecord>();
    const versionSeen = new Map<string, number>();
    const failed: Record<string, string[]> = {};
    const applied: string[] = [];
    const versions: [string, number][] = [];
    const writes: { next: ModelRecord; previous: ModelValue }[] = [];
    for (const [identifier, value] of Object.entries(updates)) {
      const stored = this.resolve(identifier);
      if (!stored) {
        failed[identifier] = ["not_found"];
        continue;
      }
      const current = pending.get(stored.id) ?? stored;
      const version = versionSeen.get(stored.id) ?? current.version;
      const expected =
        expectedVersions !== undefined && Object.hasOwn(expectedVersions, identifier)
          ? expectedVersions[identifier]
          : undefined;
      const checked = checkModelValue(current.type, current.constraints, value);
      if (expected !== undefined && expected !== version) {
        // As for set: which check comes first is not stated.
        failed[identifier] = checked.ok
          ? ["version_conflict"]
          : ["version_conflict", `validation_failed:${checked.rule}`];
        continue;
      }
      if (!checked.ok) {
        failed[identifier] = [`validation_failed:${checked.rule}`];
        if (advanceOnFailure) versionSeen.set(stored.id, version + 1);
        continue;
      }
      const next = this.#written(current, checked.value, metadata);
      pending.set(stored.id, next);
      versionSeen.set(stored.id, next.version);
      writes.push({ next, previous: current.value });
      applied.push(identifier);
      versions.push([identifier, next.version]);
    }
    return { failed, applied, versions: Object.fromEntries(versions), writes };
  }

  delete(identifier: string): Expected {
    this.events = [];
    const current = this.resolve(identifier);
    if (!current) return fail("not_found", { identifier });
    this.records = this.records.filter((r) => r.id !== current.id);
    this.events = [{ kind: "deleted", record: current, previousValue: current.value }];
    return { ok: true };
  }

  /** Import of parsed records: all or nothing, names judged on the end state, replaced in place. */
  import(records: readonly ModelRecord[], invalid: boolean): Expected {
    this.events = [];
    if (invalid) return fail("invalid_export");
    const names = new Set<string>();
    for (const r of records) {
      if (names.has(r.name)) return fail("invalid_export");
      names.add(r.name);
    }
    const replaced = new Set(records.map((r) => r.id).filter((id) => this.resolveId(id)));
    for (const r of records) {
      const owner = this.records.find((o) => o.name === r.name);
      if (owner && owner.id !== r.id && !replaced.has(owner.id))
        return fail("already_exists", { identifier: r.name });
    }
    for (const r of records) {
      const previous = this.resolveId(r.id);
      this.#put(r);
      this.events.push(
        previous
          ? { kind: "updated", record: r, previousValue: previous.value }
          : { kind: "registered", record: r, previousValue: undefined },
      );
    }
    return { ok: true };
  }

  resolveId(id: string): ModelRecord | undefined {
    return this.records.find((r) => r.id === id);
  }

  /** The events a subscription hears from the last call. */
  heard(pattern: string): ModelEvent[] {
    return this.events.filter((e) => globMatches(pattern, e.record.name));
  }
}

function fail(code: string, detail?: Record<string, unknown>): Expected {
  return detail ? { ok: false, codes: [code], detail } : { ok: false, codes: [code] };
}
function failAny(codes: string[]): Expected {
  return { ok: false, codes };
}
