import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Constraints,
  checkValue,
  decodeConstraintsJson,
  decodeValueJson,
  encodeConstraintsJson,
  encodeValueJson,
  typeFromUrl,
  typeUrlFor,
  VARIABLE_TYPES,
  type VariableType,
} from "../src/index.js";

const finite = fc.double({ noNaN: true, noDefaultInfinity: true });
const CHOICES = ["gpt-4", "claude-3", "llama"];

const tensor = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }).chain((shape) =>
  fc
    .array(finite, {
      minLength: shape.reduce((a, b) => a * b, 1),
      maxLength: shape.reduce((a, b) => a * b, 1),
    })
    .map((data) => ({ shape, data })),
);

/** Generators of valid values per type (with the constraints they are checked against). */
const valid: Record<VariableType, { values: fc.Arbitrary<unknown>; constraints?: Constraints }> = {
  float: { values: fc.double() },
  integer: { values: fc.maxSafeInteger() },
  string: { values: fc.string({ unit: "binary" }) },
  boolean: { values: fc.boolean() },
  choice: { values: fc.constantFrom(...CHOICES), constraints: { choices: CHOICES } },
  module: { values: fc.string({ minLength: 1 }) },
  embedding: { values: fc.array(finite, { maxLength: 64 }) },
  tensor: { values: tensor },
};

/** An independent statement of what each type accepts, to check the type system against. */
function acceptable(type: VariableType, value: unknown): boolean {
  // Float32Array and Float64Array are accepted as number arrays.
  const finiteNumbers = (xs: unknown) =>
    (Array.isArray(xs) || xs instanceof Float32Array || xs instanceof Float64Array) &&
    Array.from(xs as ArrayLike<unknown>).every((x) => typeof x === "number" && Number.isFinite(x));
  switch (type) {
    case "float":
      return typeof value === "number";
    case "integer":
      return (
        (typeof value === "number" && Number.isSafeInteger(value)) ||
        (typeof value === "bigint" &&
          value <= BigInt(Number.MAX_SAFE_INTEGER) &&
          value >= BigInt(Number.MIN_SAFE_INTEGER))
      );
    case "string":
      return typeof value === "string";
    case "boolean":
      return typeof value === "boolean";
    case "choice":
      return typeof value === "string" && CHOICES.includes(value);
    case "module":
      return typeof value === "string" && value.length > 0;
    case "embedding":
      return finiteNumbers(value);
    case "tensor": {
      if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
      const keys = Object.keys(value);
      if (keys.some((k) => k !== "shape" && k !== "data")) return false;
      const { shape, data } = value as { shape?: unknown; data?: unknown };
      return (
        Array.isArray(shape) &&
        shape.every((d) => Number.isSafeInteger(d) && d >= 0) &&
        finiteNumbers(data) &&
        (data as ArrayLike<unknown>).length === shape.reduce((a: number, b: number) => a * b, 1)
      );
    }
  }
}

function same(a: unknown, b: unknown): boolean {
  if (typeof a === "number" && typeof b === "number")
    return Object.is(a, b) || (a === 0 && b === 0);
  return JSON.stringify(a) === JSON.stringify(b);
}

describe("JSON wire encoding (property-based)", () => {
  for (const type of VARIABLE_TYPES) {
    const { values, constraints } = valid[type];

    it(`${type}: every valid value survives encode -> decode -> check`, () => {
      fc.assert(
        fc.property(values, (raw) => {
          const checked = checkValue("v", type, raw, constraints);
          expect(checked.ok).toBe(true);
          if (!checked.ok) return;
          const text = encodeValueJson(type, checked.value);
          const decoded = decodeValueJson(type, text);
          expect(decoded.ok).toBe(true);
          if (!decoded.ok) return;
          const again = checkValue("v", type, decoded.value, constraints);
          expect(again.ok).toBe(true);
          if (again.ok) expect(same(again.value, checked.value)).toBe(true);
        }),
        { numRuns: 300 },
      );
    });

    it(`${type}: arbitrary input is accepted exactly when valid, and never throws`, () => {
      fc.assert(
        fc.property(
          fc.oneof(fc.anything({ withBigInt: true, withTypedArray: true }), values),
          (raw) => {
            const checked = checkValue("v", type, raw, constraints);
            expect(checked.ok).toBe(acceptable(type, raw));
            if (!checked.ok) expect(checked.error.code).toBe("validation_failed");
          },
        ),
        { numRuns: 300 },
      );
    });
  }

  it("writes special floats as the JSON strings NaN, Infinity, -Infinity", () => {
    expect(encodeValueJson("float", Number.NaN)).toBe('"NaN"');
    expect(encodeValueJson("float", Number.POSITIVE_INFINITY)).toBe('"Infinity"');
    expect(encodeValueJson("float", Number.NEGATIVE_INFINITY)).toBe('"-Infinity"');
    expect(decodeValueJson("float", '"-Infinity"')).toEqual({
      ok: true,
      value: Number.NEGATIVE_INFINITY,
    });
    expect(encodeValueJson("tensor", { shape: [2], data: [1, 2] })).toBe(
      '{"shape":[2],"data":[1.0,2.0]}',
    );
  });

  it("writes float-typed numbers with a decimal point or exponent, integers without", () => {
    // Snakepit 0.4.1's Python client reads a bare 1 back as an int.
    expect(encodeValueJson("float", 1)).toBe("1.0");
    expect(encodeValueJson("float", -3)).toBe("-3.0");
    expect(encodeValueJson("float", 0.5)).toBe("0.5");
    expect(encodeValueJson("float", 1e21)).toBe("1e+21");
    expect(encodeValueJson("float", 1e-7)).toBe("1e-7");
    expect(encodeValueJson("embedding", [1, 2.5, 0])).toBe("[1.0,2.5,0.0]");
    expect(encodeValueJson("embedding", [])).toBe("[]");
    expect(encodeValueJson("tensor", { shape: [0], data: [] })).toBe('{"shape":[0],"data":[]}');
    expect(encodeValueJson("integer", 1)).toBe("1");
    expect(encodeValueJson("string", "1")).toBe('"1"');
    for (const text of ["1.0", "[1.0,2.5,0.0]", '{"shape":[2],"data":[1.0,2.0]}']) {
      expect(JSON.parse(text)).toEqual(JSON.parse(text.replaceAll(".0", "")));
    }
  });

  it("keeps a string that looks like a special float a string", () => {
    const decoded = decodeValueJson("string", '"NaN"');
    expect(decoded).toEqual({ ok: true, value: "NaN" });
  });

  it("rejects text that is not JSON, naming the variable", () => {
    const decoded = decodeValueJson("float", "0.7.1", "temperature");
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) {
      expect(decoded.error).toMatchObject({
        code: "validation_failed",
        rule: "json",
        variable: "temperature",
      });
    }
  });
});

describe("type urls and constraints_json", () => {
  it("maps every type to type.googleapis.com/snakepit.<type> and back", () => {
    for (const type of VARIABLE_TYPES) {
      expect(typeUrlFor(type)).toBe(`type.googleapis.com/snakepit.${type}`);
      expect(typeFromUrl(typeUrlFor(type))).toEqual({ ok: true, value: type });
    }
    expect(typeFromUrl("type.googleapis.com/snakepit.complex").ok).toBe(false);
    expect(typeFromUrl("type.googleapis.com/google.protobuf.StringValue").ok).toBe(false);
  });

  it("uses snake_case keys on the wire and round-trips", () => {
    const constraints = { minLength: 1, maxLength: 10, pattern: "^a" };
    const text = encodeConstraintsJson(constraints);
    expect(JSON.parse(text)).toEqual({ min_length: 1, max_length: 10, pattern: "^a" });
    expect(decodeConstraintsJson("string", text)).toEqual({ ok: true, value: constraints });
    expect(decodeConstraintsJson("module", '{"allowed_modules":["Predict"]}')).toEqual({
      ok: true,
      value: { allowedModules: ["Predict"] },
    });
    expect(decodeConstraintsJson("float", "")).toEqual({ ok: true, value: {} });
  });

  it("rejects invalid constraints_json with validation_failed", () => {
    for (const text of ["{", "[1]", '{"min":3,"max":1}', '{"bogus":1}', '"x"']) {
      const decoded = decodeConstraintsJson("float", text, "t");
      expect(decoded.ok, text).toBe(false);
      if (!decoded.ok) expect(decoded.error.code).toBe("validation_failed");
    }
  });
});

describe("wire decoding and Object.prototype member names", () => {
  it("a float encoded as the string toString is an ordinary wrong-type string", () => {
    const decoded = decodeValueJson("float", '"toString"');
    expect(decoded).toEqual({ ok: true, value: "toString" });
    const checked = checkValue("t", "float", decoded.ok ? decoded.value : undefined);
    expect(checked.ok ? "" : checked.error.message).toContain('"toString"');
  });

  it("constraints_json keys __proto__ and constructor are unknown keys, never inherited", () => {
    for (const text of ['{"__proto__": {"min": 5}}', '{"constructor": 1}']) {
      const decoded = decodeConstraintsJson("float", text, "t");
      expect(decoded.ok, text).toBe(false);
      if (!decoded.ok)
        expect(decoded.error.message).toMatch(/does not take constraint "(__proto__|constructor)"/);
    }
  });
});
