/** The variable types of the DSPex/Snakepit type system. Lowercase names are wire values too. */
export const VARIABLE_TYPES = [
  "float",
  "integer",
  "string",
  "boolean",
  "choice",
  "module",
  "embedding",
  "tensor",
] as const;

export type VariableType = (typeof VARIABLE_TYPES)[number];

export interface Tensor {
  /** Non-negative integer dimensions; the product equals `data.length`. */
  readonly shape: readonly number[];
  /** Row-major elements. */
  readonly data: readonly number[];
}

/** What a stored value looks like after normalisation (see `checkValue`). */
export type VariableValue = number | string | boolean | readonly number[] | Tensor;

/**
 * Constraints by type (anything else is rejected at registration):
 * - float, integer: `min`, `max` (inclusive)
 * - string: `minLength`, `maxLength` (in Unicode code points), `pattern` (RE2 syntax,
 *   unanchored search: anchor with ^ and $), `enum` (allowed strings)
 * - choice: `choices` (required, non-empty)
 * - module: `allowedModules`
 * - embedding: `dimensions`
 * - tensor: `shape` (the exact shape required)
 * - boolean: none
 */
export interface Constraints {
  readonly min?: number;
  readonly max?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
  readonly enum?: readonly string[];
  readonly choices?: readonly string[];
  readonly allowedModules?: readonly string[];
  readonly dimensions?: number;
  readonly shape?: readonly number[];
}

export type ConstraintKey = keyof Constraints;

/** Which constraint keys each type accepts. */
export const CONSTRAINT_KEYS: Readonly<Record<VariableType, readonly ConstraintKey[]>> = {
  float: ["min", "max"],
  integer: ["min", "max"],
  string: ["minLength", "maxLength", "pattern", "enum"],
  boolean: [],
  choice: ["choices"],
  module: ["allowedModules"],
  embedding: ["dimensions"],
  tensor: ["shape"],
};

const typeNames: ReadonlySet<string> = new Set(VARIABLE_TYPES);

export function isVariableType(value: unknown): value is VariableType {
  return typeof value === "string" && typeNames.has(value);
}
