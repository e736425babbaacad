import { RE2JS } from "re2js";
import { z } from "zod";
import type { Metadata } from "../contract.js";
import { describeValue, StateErrors } from "../errors.js";
import { err, ok, type Result } from "../result.js";
import {
  CONSTRAINT_KEYS,
  type Constraints,
  isVariableType,
  type Tensor,
  type VariableType,
  type VariableValue,
} from "./variable-types.js";

/*
 * The one place that decides which values, constraints, names and metadata a backend accepts.
 * Every backend calls `checkRegistration` and `checkValue`, so all of them accept and reject
 * exactly the same input with the same messages.
 *
 * Normalisation: -0 becomes 0; a bigint within ±(2^53-1) becomes a number for integer
 * variables (there is no bigint path: larger integers are rejected); Float32Array and
 * Float64Array become number arrays; arrays and tensors are copied and frozen, so a caller
 * can neither change a stored value nor see it change.
 */

/** Names: a letter or `_`, then letters, digits, `_`, `.`, `-`; at most 256 characters. */
export const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]{0,255}$/;

export function checkName(name: unknown): Result<string> {
  if (typeof name !== "string" || !NAME_PATTERN.test(name)) {
    return err(
      StateErrors.validation(
        undefined,
        "name",
        `invalid variable name ${describeValue(name)}: use a letter or _ followed by letters, digits, _, . or - (at most 256 characters)`,
      ),
    );
  }
  return ok(name);
}

export function checkMetadata(metadata: unknown, variable?: string): Result<Metadata> {
  if (metadata === undefined) return ok(EMPTY_METADATA);
  // Plain objects only: a Map (or any class instance) has no own entries and would be read as {}.
  const proto =
    typeof metadata === "object" && metadata !== null && Object.getPrototypeOf(metadata);
  if (proto !== Object.prototype && proto !== null) {
    return err(
      StateErrors.validation(
        variable,
        "metadata",
        `metadata must be an object of strings, got ${describeValue(metadata)}`,
      ),
    );
  }
  // How much may be stored is a limit on the record after the write (backend/limits.ts).
  const entries = Object.entries(metadata as object);
  for (const [key, value] of entries) {
    if (typeof value !== "string") {
      return err(
        StateErrors.validation(
          variable,
          "metadata",
          `metadata ${JSON.stringify(key)} must be a string, got ${describeValue(value)}`,
        ),
      );
    }
  }
  return ok(Object.freeze(Object.fromEntries(entries)) as Metadata);
}

export const EMPTY_METADATA: Metadata = Object.freeze({});
const EMPTY_CONSTRAINTS: Constraints = Object.freeze({});

const boundedNumber = z.number().refine((n) => !Number.isNaN(n), "must be a number");
const length = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const nonEmptyStrings = z.array(z.string()).min(1);

const constraintSchemas: Readonly<Record<VariableType, z.ZodType>> = {
  float: z.strictObject({ min: boundedNumber.optional(), max: boundedNumber.optional() }),
  integer: z.strictObject({
    min: z.number().int().optional(),
    max: z.number().int().optional(),
  }),
  string: z.strictObject({
    minLength: length.optional(),
    maxLength: length.optional(),
    pattern: z.string().optional(),
    enum: nonEmptyStrings.optional(),
  }),
  boolean: z.strictObject({}),
  choice: z.strictObject({ choices: nonEmptyStrings }),
  module: z.strictObject({ allowedModules: nonEmptyStrings.optional() }),
  embedding: z.strictObject({ dimensions: z.number().int().min(1).optional() }),
  tensor: z.strictObject({ shape: z.array(z.number().int().min(0)).optional() }),
};

function constraintIssue(
  variable: string | undefined,
  type: VariableType,
  raw: object,
  error: z.ZodError,
) {
  const issue = error.issues[0];
  const key = issue?.path.length ? String(issue.path[0]) : undefined;
  if (issue?.code === "unrecognized_keys") {
    const allowed = CONSTRAINT_KEYS[type];
    return StateErrors.validation(
      variable,
      "constraints",
      `${type} does not take constraint ${issue.keys.map((k) => JSON.stringify(k)).join(", ")} (allowed: ${allowed.length ? allowed.join(", ") : "none"})`,
    );
  }
  const where = key === undefined ? "constraints" : `constraint ${key}`;
  const got =
    key === undefined ? "" : `, got ${describeValue((raw as Record<string, unknown>)[key])}`;
  return StateErrors.validation(
    variable,
    "constraints",
    `${where} for ${type}: ${issue?.message ?? "invalid"}${got}`,
  );
}

const compiledPatterns = new Map<string, RE2JS>();
/** Longest `pattern` constraint: compiling a 90 000-character one took RE2 1.7 s. */
export const MAX_CONSTRAINT_PATTERN_LENGTH = 1024;

/**
 * String `pattern` constraints run on RE2 (re2js): linear in the value whatever the pattern, so
 * a caller's `(a+)+$` cannot hold the thread. RE2 syntax: no lookaround, no backreferences.
 */
function compiledPattern(pattern: string): RE2JS {
  let regex = compiledPatterns.get(pattern);
  if (regex === undefined) {
    regex = RE2JS.compile(pattern);
    if (compiledPatterns.size > 1024) compiledPatterns.clear();
    compiledPatterns.set(pattern, regex);
  }
  return regex;
}

/** Validates constraints for a type and returns them frozen. Used at registration and import. */
export function checkConstraints(
  type: VariableType,
  raw: unknown,
  variable?: string,
): Result<Constraints> {
  if (raw === undefined || raw === null) {
    if (type === "choice") {
      return err(
        StateErrors.validation(
          variable,
          "constraints",
          "choice requires constraint choices (a non-empty list of strings)",
        ),
      );
    }
    return ok(EMPTY_CONSTRAINTS);
  }
  // Plain objects only: a Map (or any class instance) has no own keys and would be read as {}.
  const proto = typeof raw === "object" && Object.getPrototypeOf(raw);
  if (proto !== Object.prototype && proto !== null) {
    return err(
      StateErrors.validation(
        variable,
        "constraints",
        `constraints must be an object, got ${describeValue(raw)}`,
      ),
    );
  }
  const parsed = constraintSchemas[type].safeParse(raw);
  if (!parsed.success) return err(constraintIssue(variable, type, raw, parsed.error));
  const c = withoutNegativeZero(parsed.data as Constraints);
  if (c.min !== undefined && c.max !== undefined && c.min > c.max) {
    return err(
      StateErrors.validation(variable, "constraints", `min ${c.min} is greater than max ${c.max}`),
    );
  }
  if (c.minLength !== undefined && c.maxLength !== undefined && c.minLength > c.maxLength) {
    return err(
      StateErrors.validation(
        variable,
        "constraints",
        `minLength ${c.minLength} is greater than maxLength ${c.maxLength}`,
      ),
    );
  }
  if (c.pattern !== undefined && c.pattern.length > MAX_CONSTRAINT_PATTERN_LENGTH) {
    return err(
      StateErrors.validation(
        variable,
        "constraints",
        `pattern has ${c.pattern.length} characters, at most ${MAX_CONSTRAINT_PATTERN_LENGTH} allowed`,
      ),
    );
  }
  if (c.pattern !== undefined) {
    try {
      compiledPattern(c.pattern);
    } catch (cause) {
      return err(
        StateErrors.validation(
          variable,
          "constraints",
          `pattern ${describeValue(c.pattern)} is not a valid regular expression in RE2 syntax (${(cause as Error).message})`,
        ),
      );
    }
  }
  for (const key of ["enum", "choices", "allowedModules"] as const) {
    const list = c[key];
    if (list !== undefined && new Set(list).size !== list.length) {
      return err(StateErrors.validation(variable, "constraints", `${key} has duplicate entries`));
    }
  }
  return ok(deepFreeze(c));
}

/** -0 becomes 0 in constraints too, so they survive JSON (export, the wire) unchanged. */
function withoutNegativeZero(c: Constraints): Constraints {
  const zeroed = (n: number) => (n === 0 ? 0 : n);
  return {
    ...c,
    ...(c.min === undefined ? {} : { min: zeroed(c.min) }),
    ...(c.max === undefined ? {} : { max: zeroed(c.max) }),
    ...(c.shape === undefined ? {} : { shape: c.shape.map(zeroed) }),
  };
}

function deepFreeze<T extends object>(value: T): T {
  for (const inner of Object.values(value))
    if (typeof inner === "object" && inner !== null) Object.freeze(inner);
  return Object.freeze(value);
}

const fail = (variable: string | undefined, rule: string, detail: string) =>
  err(StateErrors.validation(variable, rule, detail));

function codePointLength(text: string): number {
  let surrogatePairs = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        surrogatePairs++;
        i++;
      }
    }
  }
  return text.length - surrogatePairs;
}

function checkRange(variable: string | undefined, n: number, c: Constraints): Result<number> {
  if (c.min !== undefined && !(n >= c.min))
    return fail(variable, "min", `value ${describeValue(n)} is below minimum ${c.min}`);
  if (c.max !== undefined && !(n <= c.max))
    return fail(variable, "max", `value ${describeValue(n)} is above maximum ${c.max}`);
  return ok(n === 0 ? 0 : n);
}

function checkString(
  variable: string | undefined,
  type: VariableType,
  value: unknown,
): Result<string> {
  if (typeof value !== "string")
    return fail(variable, "type", `expected ${type} (a string), got ${describeValue(value)}`);
  return ok(value);
}

function toNumberArray(
  variable: string | undefined,
  type: VariableType,
  field: string,
  value: unknown,
): Result<readonly number[]> {
  let source: ArrayLike<unknown>;
  if (Array.isArray(value)) source = value;
  else if (value instanceof Float64Array || value instanceof Float32Array) source = value;
  else
    return fail(
      variable,
      "type",
      `expected ${type} ${field} as an array of numbers, got ${describeValue(value)}`,
    );
  const out = new Array<number>(source.length);
  for (let i = 0; i < source.length; i++) {
    const n = source[i];
    if (typeof n !== "number" || !Number.isFinite(n)) {
      return fail(
        variable,
        "type",
        `${type} ${field}[${i}] must be a finite number, got ${describeValue(n)}`,
      );
    }
    out[i] = n === 0 ? 0 : n;
  }
  return ok(Object.freeze(out));
}

/**
 * Checks a value against a type and its (already validated) constraints and returns the
 * normalised, frozen value. The hot path of every write: no allocation for scalars.
 */
export function checkValue(
  variable: string | undefined,
  type: VariableType,
  value: unknown,
  constraints: Constraints = EMPTY_CONSTRAINTS,
): Result<VariableValue> {
  switch (type) {
    case "float":
      if (typeof value !== "number")
        return fail(variable, "type", `expected float, got ${describeValue(value)}`);
      return checkRange(variable, value, constraints);
    case "integer": {
      let n = value;
      if (typeof n === "bigint") {
        if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) {
          return fail(
            variable,
            "type",
            `integer ${describeValue(n)} is outside the safe range ±(2^53-1)`,
          );
        }
        n = Number(n);
      }
      if (typeof n !== "number" || !Number.isInteger(n)) {
        return fail(variable, "type", `expected integer, got ${describeValue(value)}`);
      }
      if (!Number.isSafeInteger(n)) {
        return fail(
          variable,
          "type",
          `integer ${describeValue(n)} is outside the safe range ±(2^53-1)`,
        );
      }
      return checkRange(variable, n, constraints);
    }
    case "string": {
      const s = checkString(variable, type, value);
      if (!s.ok) return s;
      const text = s.value;
      const c = constraints;
      if (c.minLength !== undefined || c.maxLength !== undefined) {
        const length = codePointLength(text);
        if (c.minLength !== undefined && length < c.minLength) {
          return fail(
            variable,
            "minLength",
            `value ${describeValue(text)} has ${length} characters, below minLength ${c.minLength}`,
          );
        }
        if (c.maxLength !== undefined && length > c.maxLength) {
          return fail(
            variable,
            "maxLength",
            `value ${describeValue(text)} has ${length} characters, above maxLength ${c.maxLength}`,
          );
        }
      }
      if (c.pattern !== undefined && !compiledPattern(c.pattern).test(text)) {
        return fail(
          variable,
          "pattern",
          `value ${describeValue(text)} does not match pattern ${JSON.stringify(c.pattern)}`,
        );
      }
      if (c.enum !== undefined && !c.enum.includes(text)) {
        return fail(
          variable,
          "enum",
          `value ${describeValue(text)} is not one of enum ${JSON.stringify(c.enum)}`,
        );
      }
      return s;
    }
    case "boolean":
      if (typeof value !== "boolean")
        return fail(variable, "type", `expected boolean, got ${describeValue(value)}`);
      return ok(value);
    case "choice": {
      const s = checkString(variable, type, value);
      if (!s.ok) return s;
      if (constraints.choices !== undefined && !constraints.choices.includes(s.value)) {
        return fail(
          variable,
          "choices",
          `value ${describeValue(s.value)} is not one of choices ${JSON.stringify(constraints.choices)}`,
        );
      }
      return s;
    }
    case "module": {
      const s = checkString(variable, type, value);
      if (!s.ok) return s;
      if (s.value.length === 0)
        return fail(variable, "type", "expected module name, got an empty string");
      if (
        constraints.allowedModules !== undefined &&
        !constraints.allowedModules.includes(s.value)
      ) {
        return fail(
          variable,
          "allowedModules",
          `module ${describeValue(s.value)} is not one of allowedModules ${JSON.stringify(constraints.allowedModules)}`,
        );
      }
      return s;
    }
    case "embedding": {
      const vector = toNumberArray(variable, type, "value", value);
      if (!vector.ok) return vector;
      if (constraints.dimensions !== undefined && vector.value.length !== constraints.dimensions) {
        return fail(
          variable,
          "dimensions",
          `embedding has ${vector.value.length} dimensions, constraint dimensions is ${constraints.dimensions}`,
        );
      }
      return vector;
    }
    case "tensor":
      return checkTensor(variable, value, constraints);
    default:
      return err(StateErrors.unknownType(type, variable));
  }
}

function checkTensor(
  variable: string | undefined,
  value: unknown,
  constraints: Constraints,
): Result<Tensor> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return fail(variable, "type", `expected tensor {shape, data}, got ${describeValue(value)}`);
  }
  const { shape: rawShape, data: rawData } = value as { shape?: unknown; data?: unknown };
  const extra = Object.keys(value).filter((key) => key !== "shape" && key !== "data");
  if (extra.length > 0)
    return fail(variable, "type", `tensor has unexpected field ${JSON.stringify(extra[0])}`);
  if (
    !Array.isArray(rawShape) ||
    // Array.from: a hole in a sparse array is checked (as undefined) rather than skipped.
    Array.from(rawShape).some((d) => !Number.isSafeInteger(d) || (d as number) < 0)
  ) {
    return fail(
      variable,
      "type",
      `tensor shape must be an array of non-negative integers, got ${describeValue(rawShape)}`,
    );
  }
  const data = toNumberArray(variable, "tensor", "data", rawData);
  if (!data.ok) return data;
  const shape = Object.freeze(Array.from(rawShape as number[], (d) => (d === 0 ? 0 : d)));
  const size = shape.reduce((product, d) => product * d, 1);
  if (size !== data.value.length) {
    return fail(
      variable,
      "shape",
      `tensor data has ${data.value.length} elements but shape ${JSON.stringify(shape)} needs ${size}`,
    );
  }
  if (constraints.shape !== undefined) {
    const required = constraints.shape;
    if (required.length !== shape.length || required.some((d, i) => d !== shape[i])) {
      return fail(
        variable,
        "shape",
        `tensor shape ${JSON.stringify(shape)} differs from constraint shape ${JSON.stringify(required)}`,
      );
    }
  }
  return ok(Object.freeze({ shape, data: data.value }));
}

export interface RegistrationInput {
  readonly name: unknown;
  readonly type: unknown;
  readonly value: unknown;
  readonly constraints?: unknown;
  readonly metadata?: unknown;
  readonly description?: unknown;
}

export interface CheckedRegistration {
  readonly name: string;
  readonly type: VariableType;
  readonly value: VariableValue;
  readonly constraints: Constraints;
  readonly metadata: Metadata;
}

/** The entry point a backend calls before registering: name, type, constraints, value, metadata. */
export function checkRegistration(input: RegistrationInput): Result<CheckedRegistration> {
  const name = checkName(input.name);
  if (!name.ok) return name;
  if (!isVariableType(input.type)) return err(StateErrors.unknownType(input.type, name.value));
  const type = input.type;
  const constraints = checkConstraints(type, input.constraints, name.value);
  if (!constraints.ok) return constraints;
  const value = checkValue(name.value, type, input.value, constraints.value);
  if (!value.ok) return value;
  let metadata = checkMetadata(input.metadata, name.value);
  if (!metadata.ok) return metadata;
  if (input.description !== undefined) {
    if (typeof input.description !== "string") {
      return fail(
        name.value,
        "metadata",
        `description must be a string, got ${describeValue(input.description)}`,
      );
    }
    metadata = ok(Object.freeze({ ...metadata.value, description: input.description }));
  }
  return ok({
    name: name.value,
    type,
    value: value.value,
    constraints: constraints.value,
    metadata: metadata.value,
  });
}

/**
 * Checks a compare-and-set expectation: a non-negative safe integer. 0 is allowed and simply
 * matches no variable (versions start at 1); anything else is the caller's mistake.
 */
export function checkExpectedVersion(expected: unknown, identifier: unknown): Result<number> {
  if (typeof expected === "number" && Number.isSafeInteger(expected) && expected >= 0) {
    return ok(expected);
  }
  return err(
    StateErrors.invalidArgument(
      `expected version for ${describeValue(identifier)} must be a non-negative integer, got ${describeValue(expected)}`,
    ),
  );
}

/** An idempotency key (`WriteOptions.requestId` and the like): a string of 1 to 128 characters. */
export function checkRequestId(requestId: unknown, call: string): Result<string> {
  if (typeof requestId === "string" && requestId.length > 0 && requestId.length <= 128) {
    return ok(requestId);
  }
  return err(
    StateErrors.invalidArgument(
      `${call} expects requestId as a string of 1 to 128 characters, got ${describeValue(requestId)}`,
    ),
  );
}

/** Merges update metadata into a record's metadata (set semantics: new keys win). */
export function mergeMetadata(current: Metadata, update: Metadata): Metadata {
  if (update === EMPTY_METADATA) return current;
  const keys = Object.keys(update);
  // Writes that repeat what is there (the same source every time) keep the record's object.
  if (keys.every((key) => Object.hasOwn(current, key) && current[key] === update[key])) {
    return current;
  }
  return Object.freeze({ ...current, ...update });
}

/** The source recorded for a write when its metadata names none. */
export const DEFAULT_SOURCE = "typescript";

/** Who made a write: `metadata.source` when the caller set it, else the backend's default. */
export function sourceOf(metadata: Metadata, fallback: string = DEFAULT_SOURCE): string {
  return metadata.source ?? fallback;
}
