import { z } from "zod";
import type { Metadata, VariableRecord } from "./contract.js";
import { StateErrors } from "./errors.js";
import { err, ok, type Result } from "./result.js";
import { checkConstraints, checkName, checkValue } from "./types/validation.js";
import { type Constraints, VARIABLE_TYPES, type VariableType } from "./types/variable-types.js";
import { fromJsonValue, type JsonValue, toJsonValue } from "./types/wire.js";

/*
 * The document `exportState` produces and `importState` accepts. It is self-describing
 * (format name and version) and JSON-safe: `JSON.stringify` and `JSON.parse` round-trip it,
 * special floats included (they are stored as the strings "NaN", "Infinity", "-Infinity").
 */
export const EXPORT_FORMAT = "dspex.state";
export const EXPORT_FORMAT_VERSION = 1;

export interface ExportedVariable {
  readonly id: string;
  readonly name: string;
  readonly type: VariableType;
  readonly value: JsonValue;
  readonly constraints: Constraints;
  readonly metadata: Metadata;
  readonly version: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly source: string;
}

export interface ExportedState {
  readonly format: typeof EXPORT_FORMAT;
  readonly formatVersion: typeof EXPORT_FORMAT_VERSION;
  readonly sessionId: string;
  /** Wall-clock epoch milliseconds. */
  readonly exportedAt: number;
  /** Keyed by variable id, in registration order. */
  readonly variables: Readonly<Record<string, ExportedVariable>>;
  /** Name → id. */
  readonly variableIndex: Readonly<Record<string, string>>;
  /** Session metadata. */
  readonly metadata: Metadata;
}

/** What `parseExport` hands a backend: records ready to store, values normalised and frozen. */
export interface ParsedExport {
  readonly sessionId: string;
  readonly metadata: Metadata;
  readonly records: readonly VariableRecord[];
}

/** Builds the export document from a backend's records. Every backend exports through this. */
export function buildExport(
  sessionId: string,
  records: Iterable<VariableRecord>,
  metadata: Metadata = {},
): ExportedState {
  const variables: [string, ExportedVariable][] = [];
  const index: [string, string][] = [];
  for (const r of records) {
    variables.push([
      r.id,
      {
        id: r.id,
        name: r.name,
        type: r.type,
        value: toJsonValue(r.type, r.value),
        constraints: r.constraints,
        metadata: r.metadata,
        version: r.version,
        createdAt: r.createdAt,
        updatedAt: r.updatedAt,
        source: r.source,
      },
    ]);
    index.push([r.name, r.id]);
  }
  return {
    format: EXPORT_FORMAT,
    formatVersion: EXPORT_FORMAT_VERSION,
    sessionId,
    exportedAt: Date.now(),
    variables: Object.fromEntries(variables),
    variableIndex: Object.fromEntries(index),
    metadata: { ...metadata },
  };
}

/**
 * Documents built here from records a backend had already checked, with what `parseExport`
 * answers for them. Sound because such a document is deeply frozen when it is built (its
 * parts are new frozen objects or the records' own frozen values, constraints and metadata), so
 * it still says exactly what the checked records say; a copy, or anything that crossed JSON, is
 * another object and is validated in full.
 */
const checkedExports = new WeakMap<object, ParsedExport>();

/**
 * `buildExport` for records that passed the backend core's plans or `parseExport` (a backend's
 * stored records): the document is frozen, and `parseExport` of it answers those records
 * without validating them a second time. Never pass records built by hand.
 */
export function buildCheckedExport(
  sessionId: string,
  records: readonly VariableRecord[],
  metadata: Metadata = {},
): ExportedState {
  const document = buildExport(sessionId, records, metadata);
  // What the full check would refuse keeps the full check (it names the problem): a version
  // past int32, or ids or names that repeat (the document's maps would have dropped some).
  const count = records.length;
  if (
    Object.keys(document.variables).length !== count ||
    Object.keys(document.variableIndex).length !== count
  )
    return document;
  for (const record of records) if (record.version > MAX_VERSION) return document;
  for (const variable of Object.values(document.variables)) Object.freeze(variable);
  Object.freeze(document.variables);
  Object.freeze(document.variableIndex);
  Object.freeze(document.metadata);
  Object.freeze(document);
  checkedExports.set(document, {
    sessionId,
    metadata: document.metadata,
    records: Object.freeze([...records]),
  });
  return document;
}

const MAX_VERSION = 2 ** 31 - 1;

/**
 * A string-keyed object whose values match `value`. Unlike `z.record`, which drops a
 * `__proto__` key, it keeps every own key: `__proto__` is a valid variable name and metadata key.
 */
function ownRecord<T extends z.ZodType>(value: T) {
  return z.unknown().transform((input, ctx): Record<string, z.output<T>> => {
    const proto = typeof input === "object" && input !== null ? Object.getPrototypeOf(input) : 0;
    if (Array.isArray(input) || (proto !== Object.prototype && proto !== null)) {
      ctx.addIssue({ code: "custom", message: "expected an object", input });
      return z.NEVER;
    }
    const entries: [string, z.output<T>][] = [];
    for (const [key, raw] of Object.entries(input as object)) {
      const parsed = value.safeParse(raw);
      if (!parsed.success) {
        for (const issue of parsed.error.issues)
          ctx.addIssue({ code: "custom", message: issue.message, path: [key, ...issue.path] });
        return z.NEVER;
      }
      entries.push([key, parsed.data]);
    }
    // Object.fromEntries defines own properties, so `__proto__` stays an ordinary key.
    return Object.fromEntries(entries);
  });
}

const stringMap = ownRecord(z.string());
const timestamp = z.number().min(0).refine(Number.isFinite, "must be a finite number");

const exportedVariableSchema = z.object({
  id: z.string().min(1),
  name: z.string(),
  type: z.enum(VARIABLE_TYPES),
  value: z.unknown(),
  constraints: ownRecord(z.unknown()),
  metadata: stringMap,
  version: z.number().int().min(1).max(MAX_VERSION),
  createdAt: timestamp,
  updatedAt: timestamp,
  source: z.string(),
});

const exportSchema = z.object({
  format: z.literal(EXPORT_FORMAT),
  formatVersion: z.literal(EXPORT_FORMAT_VERSION),
  sessionId: z.string(),
  exportedAt: timestamp,
  variables: ownRecord(exportedVariableSchema),
  variableIndex: stringMap,
  metadata: stringMap,
});

function pathOf(segments: readonly PropertyKey[]): string {
  return segments.map(String).join(".");
}

/**
 * Validates an export document: its shape (zod), each variable's name, constraints and value
 * against the type system, and the consistency of ids and the name index. Never throws: any
 * problem is `invalid_export` with the path of the first one.
 */
export function parseExport(document: unknown): Result<ParsedExport> {
  const checked = typeof document === "object" && document !== null && checkedExports.get(document);
  if (checked) return ok(checked);
  try {
    const parsed = exportSchema.safeParse(document);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return err(
        StateErrors.invalidExport(pathOf(issue?.path ?? []), issue?.message ?? "invalid document"),
      );
    }
    const doc = parsed.data;
    const records: VariableRecord[] = [];
    const names = new Set<string>();
    for (const [key, v] of Object.entries(doc.variables)) {
      const at = `variables.${key}`;
      if (v.id !== key)
        return err(
          StateErrors.invalidExport(`${at}.id`, `id ${JSON.stringify(v.id)} differs from its key`),
        );
      const name = checkName(v.name);
      if (!name.ok) return err(StateErrors.invalidExport(`${at}.name`, name.error.message));
      if (names.has(v.name))
        return err(
          StateErrors.invalidExport(`${at}.name`, `duplicate name ${JSON.stringify(v.name)}`),
        );
      names.add(v.name);
      if (!Object.hasOwn(doc.variableIndex, v.name) || doc.variableIndex[v.name] !== v.id) {
        return err(
          StateErrors.invalidExport(
            `variableIndex.${v.name}`,
            `must map ${JSON.stringify(v.name)} to ${JSON.stringify(v.id)}`,
          ),
        );
      }
      const constraints = checkConstraints(v.type, v.constraints, v.name);
      if (!constraints.ok)
        return err(StateErrors.invalidExport(`${at}.constraints`, constraints.error.message));
      const value = checkValue(v.name, v.type, fromJsonValue(v.type, v.value), constraints.value);
      if (!value.ok) return err(StateErrors.invalidExport(`${at}.value`, value.error.message));
      records.push(
        Object.freeze({
          id: v.id,
          name: v.name,
          type: v.type,
          value: value.value,
          constraints: constraints.value,
          metadata: Object.freeze({ ...v.metadata }),
          version: v.version,
          createdAt: v.createdAt,
          updatedAt: v.updatedAt,
          source: v.source,
        }),
      );
    }
    for (const name of Object.keys(doc.variableIndex)) {
      if (!names.has(name)) {
        return err(
          StateErrors.invalidExport(`variableIndex.${name}`, `names no variable in variables`),
        );
      }
    }
    return ok({ sessionId: doc.sessionId, metadata: Object.freeze({ ...doc.metadata }), records });
  } catch (cause) {
    return err(
      StateErrors.invalidExport(
        "",
        `document could not be read (${(cause as Error)?.message ?? String(cause)})`,
      ),
    );
  }
}
