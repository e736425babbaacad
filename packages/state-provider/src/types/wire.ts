import { describeValue, StateErrors } from "../errors.js";
import { err, ok, type Result } from "../result.js";
import { checkConstraints } from "./validation.js";
import {
  type Constraints,
  VARIABLE_TYPES,
  type VariableType,
  type VariableValue,
} from "./variable-types.js";

/*
 * JSON wire encoding shared with the DSPex/Snakepit bridge (bridge-protocol.md): a value is the
 * UTF-8 JSON of the value; the special floats are the strings "NaN", "Infinity", "-Infinity";
 * constraints use snake_case keys. Decoding only parses: callers pass the result to `checkValue`.
 */

export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

export const TYPE_URL_PREFIX = "type.googleapis.com/snakepit.";

// One string per type, made once: a string built per call would be hashed again by every Map
// it is looked up in.
const URL_BY_TYPE: ReadonlyMap<VariableType, string> = new Map(
  VARIABLE_TYPES.map((type) => [type, TYPE_URL_PREFIX + type]),
);

/** `type.googleapis.com/snakepit.<type>`: the `Any.type_url` of a value of that type. */
export function typeUrlFor(type: VariableType): string {
  return URL_BY_TYPE.get(type) ?? TYPE_URL_PREFIX + type;
}

// Every item of a batch that arrives names its type_url: one lookup of a shared answer.
const TYPE_BY_URL: ReadonlyMap<string, Result<VariableType>> = new Map(
  VARIABLE_TYPES.map((type) => [typeUrlFor(type), Object.freeze(ok(type))]),
);

/** The last url looked up: a batch's items mostly name the same one (often the same string). */
let lastUrl = "";
let lastType: Result<VariableType> | undefined;

/** The variable type named by an `Any.type_url`, or an error naming the url. */
export function typeFromUrl(typeUrl: string): Result<VariableType> {
  if (typeUrl === lastUrl && lastType !== undefined) return lastType;
  const known = TYPE_BY_URL.get(typeUrl);
  if (known === undefined) {
    return err(
      StateErrors.validation(
        undefined,
        "type",
        `unknown value type_url ${JSON.stringify(typeUrl)}; expected ${TYPE_URL_PREFIX}<type>`,
      ),
    );
  }
  lastUrl = typeUrl;
  lastType = known;
  return known;
}

const SPECIAL_FLOATS: Readonly<Record<string, number>> = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  "-Infinity": Number.NEGATIVE_INFINITY,
};

/** A stored value as a JSON-safe value (special floats become strings). */
export function toJsonValue(type: VariableType, value: VariableValue): JsonValue {
  if (type === "float" && typeof value === "number" && !Number.isFinite(value)) {
    return Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
  }
  return value as JsonValue;
}

/** The inverse of `toJsonValue`: special-float strings become numbers for float variables. */
export function fromJsonValue(type: VariableType, json: unknown): unknown {
  if (type === "float" && typeof json === "string" && Object.hasOwn(SPECIAL_FLOATS, json))
    return SPECIAL_FLOATS[json];
  return json;
}

/**
 * The JSON text of a value. Float-typed numbers (float, embedding and tensor data) always carry a
 * decimal point or an exponent (`1.0`, not `1`): Python clients such as Snakepit 0.4.1 read a bare
 * `1` back as an int.
 */
export function encodeValueJson(type: VariableType, value: VariableValue): string {
  switch (type) {
    case "integer":
      // What JSON.stringify writes for a finite number, without its generic walk.
      return typeof value === "number" && Number.isFinite(value)
        ? String(value)
        : JSON.stringify(value);
    case "float":
      return typeof value === "number" && Number.isFinite(value)
        ? floatJson(value)
        : JSON.stringify(toJsonValue(type, value));
    case "embedding":
      return Array.isArray(value) ? floatArrayJson(value) : JSON.stringify(value);
    case "tensor": {
      const tensor = value as { shape?: unknown; data?: unknown };
      return Array.isArray(tensor.data)
        ? `{"shape":${JSON.stringify(tensor.shape)},"data":${floatArrayJson(tensor.data)}}`
        : JSON.stringify(value);
    }
    default:
      return JSON.stringify(value);
  }
}

function floatJson(n: number): string {
  const text = JSON.stringify(n);
  return Number.isInteger(n) && !text.includes("e") ? `${text}.0` : text;
}

function floatArrayJson(values: readonly unknown[]): string {
  let text = "[";
  for (let i = 0; i < values.length; i++) {
    const n = values[i];
    if (i > 0) text += ",";
    text += typeof n === "number" ? floatJson(n) : JSON.stringify(n ?? null);
  }
  return `${text}]`;
}

/** Parses the JSON text of a value. The result still has to pass `checkValue`. */
export function decodeValueJson(
  type: VariableType,
  text: string,
  variable?: string,
): Result<unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return err(
      StateErrors.validation(
        variable,
        "json",
        `value of type ${type} is not valid JSON: ${describeValue(text)}`,
      ),
    );
  }
  return ok(fromJsonValue(type, parsed));
}

const TO_WIRE_KEY: Readonly<Record<keyof Constraints, string>> = {
  min: "min",
  max: "max",
  minLength: "min_length",
  maxLength: "max_length",
  pattern: "pattern",
  enum: "enum",
  choices: "choices",
  allowedModules: "allowed_modules",
  dimensions: "dimensions",
  shape: "shape",
};
const FROM_WIRE_KEY: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(TO_WIRE_KEY).map(([camel, snake]) => [snake, camel]),
);

/** Constraints as `constraints_json` (snake_case keys). Empty constraints are `{}`. */
export function encodeConstraintsJson(constraints: Constraints): string {
  const wire: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(constraints))
    wire[TO_WIRE_KEY[key as keyof Constraints] ?? key] = value;
  return JSON.stringify(wire);
}

/** Parses and validates `constraints_json` for a type. Empty text means no constraints. */
export function decodeConstraintsJson(
  type: VariableType,
  text: string,
  variable?: string,
): Result<Constraints> {
  if (text.trim() === "") return checkConstraints(type, undefined, variable);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return err(
      StateErrors.validation(
        variable,
        "constraints",
        `constraints_json is not valid JSON: ${describeValue(text)}`,
      ),
    );
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return checkConstraints(type, parsed, variable);
  }
  // Own keys only, built with fromEntries: `constructor` or `__proto__` stay unknown keys.
  const camel = Object.fromEntries(
    Object.entries(parsed).map(([key, value]) => [
      Object.hasOwn(FROM_WIRE_KEY, key) ? FROM_WIRE_KEY[key] : key,
      value,
    ]),
  );
  return checkConstraints(type, camel, variable);
}
