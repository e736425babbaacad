import { describe, expect, it } from "vitest";
import {
  type Constraints,
  checkConstraints,
  checkExpectedVersion,
  checkMetadata,
  checkName,
  checkRegistration,
  checkValue,
  type StateError,
  type Tensor,
  type VariableType,
} from "../src/index.js";

function rejection(result: { ok: boolean; error?: StateError }): StateError {
  expect(result.ok).toBe(false);
  return result.error as StateError;
}

function constraintsFor(type: VariableType, raw: unknown): Constraints {
  const checked = checkConstraints(type, raw, "v");
  if (!checked.ok) throw new Error(checked.error.message);
  return checked.value;
}

/** type, constraints, values that pass, values that fail with the given rule. */
const cases: Array<{
  type: VariableType;
  constraints: unknown;
  accept: unknown[];
  reject: Array<[unknown, string]>;
}> = [
  {
    type: "float",
    constraints: { min: 0, max: 2 },
    accept: [0, 0.7, 2, 1],
    reject: [
      [-0.1, "min"],
      [2.0001, "max"],
      [Number.NaN, "min"],
      [Number.POSITIVE_INFINITY, "max"],
      ["0.7", "type"],
      [null, "type"],
      [true, "type"],
    ],
  },
  {
    type: "float",
    constraints: undefined,
    accept: [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -1e308, 5],
    reject: [
      [1n, "type"],
      [[0.5], "type"],
    ],
  },
  {
    type: "integer",
    constraints: { min: 1, max: 4096 },
    accept: [1, 512, 4096, 100n],
    reject: [
      [0, "min"],
      [4097, "max"],
      [1.5, "type"],
      [Number.NaN, "type"],
      ["512", "type"],
      [2 ** 53, "type"],
      [2n ** 60n, "type"],
    ],
  },
  {
    type: "string",
    constraints: { minLength: 2, maxLength: 5 },
    accept: ["ab", "abcde", "😀😀"],
    reject: [
      ["a", "minLength"],
      ["abcdef", "maxLength"],
      [5, "type"],
    ],
  },
  {
    type: "string",
    constraints: { pattern: "^gpt-\\d$" },
    accept: ["gpt-4", "gpt-3"],
    reject: [
      ["gpt-4o", "pattern"],
      ["claude", "pattern"],
    ],
  },
  {
    type: "string",
    constraints: { enum: ["a", "b"] },
    accept: ["a", "b"],
    reject: [["c", "enum"]],
  },
  {
    type: "boolean",
    constraints: undefined,
    accept: [true, false],
    reject: [
      [0, "type"],
      ["true", "type"],
    ],
  },
  {
    type: "choice",
    constraints: { choices: ["gpt-4", "claude-3"] },
    accept: ["gpt-4", "claude-3"],
    reject: [
      ["gpt-5", "choices"],
      [1, "type"],
    ],
  },
  {
    type: "module",
    constraints: { allowedModules: ["Predict", "ChainOfThought"] },
    accept: ["Predict", "ChainOfThought"],
    reject: [
      ["ReAct", "allowedModules"],
      ["", "type"],
      [{}, "type"],
    ],
  },
  {
    type: "embedding",
    constraints: { dimensions: 3 },
    accept: [[0.1, 0.2, 0.3], new Float32Array([1, 2, 3]), new Float64Array([1, 2, 3])],
    reject: [
      [[0.1, 0.2], "dimensions"],
      [[0.1, "x", 0.3], "type"],
      [[0.1, Number.NaN, 0.3], "type"],
      ["0.1,0.2,0.3", "type"],
    ],
  },
  {
    type: "tensor",
    constraints: { shape: [2, 2] },
    accept: [{ shape: [2, 2], data: [1, 2, 3, 4] }],
    reject: [
      [{ shape: [4], data: [1, 2, 3, 4] }, "shape"],
      [{ shape: [2, 2], data: [1, 2, 3] }, "shape"],
      [{ shape: [2, -2], data: [] }, "type"],
      [{ shape: [2, 2], data: [1, 2, 3, 4], dtype: "f32" }, "type"],
      [[1, 2, 3, 4], "type"],
    ],
  },
];

describe("checkValue: every type and constraint", () => {
  for (const { type, constraints, accept, reject } of cases) {
    const label = `${type} ${JSON.stringify(constraints) ?? "(no constraints)"}`;
    const c = constraintsFor(type, constraints);
    it(`${label} accepts valid values`, () => {
      for (const value of accept) {
        const result = checkValue("v", type, value, c);
        expect(result.ok, `${String(value)} should pass`).toBe(true);
      }
    });
    for (const [value, rule] of reject) {
      it(`${label} rejects ${typeof value === "bigint" ? `${value}n` : (JSON.stringify(value) ?? String(value))} by ${rule}`, () => {
        const error = rejection(checkValue("temperature", type, value, c));
        expect(error.code).toBe("validation_failed");
        expect(error).toMatchObject({ rule, variable: "temperature" });
        expect(error.message).toContain('"temperature"');
      });
    }
  }

  it("names the bound and the value in the message", () => {
    const c = constraintsFor("float", { min: 0, max: 2 });
    const error = rejection(checkValue("temperature", "float", 3.5, c));
    expect(error.message).toBe('variable "temperature": value 3.5 is above maximum 2');
    // The original bridge's words: Snakepit's integration tests match on them.
    const below = rejection(checkValue("temperature", "float", -1, c));
    expect(below.message).toBe('variable "temperature": value -1 is below minimum 0');
  });

  it("answers unknown_type for a type outside the system", () => {
    const error = rejection(checkValue("v", "complex" as VariableType, 1));
    expect(error.code).toBe("unknown_type");
  });
});

describe("normalisation", () => {
  it("turns -0 into 0 and a safe bigint into a number", () => {
    const zero = checkValue("v", "float", -0);
    expect(zero.ok && Object.is(zero.value, 0)).toBe(true);
    const big = checkValue("v", "integer", 42n);
    expect(big).toEqual({ ok: true, value: 42 });
  });

  it("copies and freezes arrays and tensors, and converts typed arrays", () => {
    const source = [0.5, 0.25];
    const result = checkValue("v", "embedding", source);
    if (!result.ok) throw new Error("expected ok");
    expect(result.value).toEqual([0.5, 0.25]);
    expect(result.value).not.toBe(source);
    expect(Object.isFrozen(result.value)).toBe(true);
    source[0] = 9;
    expect(result.value).toEqual([0.5, 0.25]);

    const typed = checkValue("v", "embedding", new Float32Array([0.5, 1.5]));
    expect(typed.ok && Array.isArray(typed.value)).toBe(true);

    const tensor = checkValue("v", "tensor", { shape: [1, 2], data: new Float64Array([1, 2]) });
    if (!tensor.ok) throw new Error("expected ok");
    expect(tensor.value).toEqual({ shape: [1, 2], data: [1, 2] });
    expect(Object.isFrozen(tensor.value)).toBe(true);
    expect(Object.isFrozen((tensor.value as Tensor).shape)).toBe(true);
  });

  it("turns -0 into 0 in a tensor's shape and in numeric constraints", () => {
    const tensor = checkValue("v", "tensor", { shape: [-0], data: [] });
    if (!tensor.ok) throw new Error("expected ok");
    expect(Object.is((tensor.value as Tensor).shape[0], 0)).toBe(true);
    expect(Object.is(constraintsFor("tensor", { shape: [2, -0] }).shape?.[1], 0)).toBe(true);
    expect(Object.is(constraintsFor("float", { min: -0 }).min, 0)).toBe(true);
  });

  it("rejects a tensor whose shape array has a hole", () => {
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    const error = rejection(checkValue("v", "tensor", { shape: [2, , 1], data: [1, 2] }));
    expect(error).toMatchObject({ code: "validation_failed", rule: "type" });
  });

  it("accepts an empty tensor whose shape has a zero", () => {
    expect(checkValue("v", "tensor", { shape: [0, 3], data: [] }).ok).toBe(true);
  });

  it("counts string length in code points", () => {
    const c = constraintsFor("string", { maxLength: 1 });
    expect(checkValue("v", "string", "😀", c).ok).toBe(true);
    expect(checkValue("v", "string", "ab", c).ok).toBe(false);
  });
});

describe("checkConstraints", () => {
  const bad: Array<[VariableType, unknown, string]> = [
    ["float", { min: 3, max: 1 }, "min 3 is greater than max 1"],
    ["float", { minimum: 0 }, 'float does not take constraint "minimum" (allowed: min, max)'],
    ["boolean", { min: 0 }, 'boolean does not take constraint "min" (allowed: none)'],
    ["integer", { min: 0.5 }, "constraint min for integer"],
    ["string", { pattern: "([a-z" }, "is not a valid regular expression"],
    ["string", { minLength: 5, maxLength: 2 }, "minLength 5 is greater than maxLength 2"],
    ["string", { maxLength: -1 }, "constraint maxLength"],
    ["string", { enum: [] }, "constraint enum"],
    ["choice", undefined, "choice requires constraint choices"],
    ["choice", { choices: [] }, "constraint choices"],
    ["choice", { choices: ["a", "a"] }, "choices has duplicate entries"],
    ["module", { allowedModules: [1] }, "constraint allowedModules"],
    ["embedding", { dimensions: 0 }, "constraint dimensions"],
    ["tensor", { shape: [2, -1] }, "constraint shape"],
    ["float", [1, 2], "constraints must be an object"],
    ["float", new Map([["min", 0]]), "constraints must be an object"],
    ["float", { min: Number.NaN }, "constraint min"],
  ];
  for (const [type, raw, text] of bad) {
    it(`rejects ${type} ${JSON.stringify(raw)}`, () => {
      const error = rejection(checkConstraints(type, raw, "v"));
      expect(error.code).toBe("validation_failed");
      expect(error).toMatchObject({ rule: "constraints" });
      expect(error.message).toContain(text);
    });
  }

  it("names the variable, the constraint and the offending value", () => {
    const error = rejection(checkConstraints("integer", { max: 2.5 }, "max_tokens"));
    expect(error.message).toContain('"max_tokens"');
    expect(error.message).toContain("constraint max");
    expect(error.message).toContain("2.5");
    expect(rejection(checkConstraints("float", { min: "low" }, "t")).message).toContain('"low"');
    expect(rejection(checkConstraints("tensor", { shape: [2, -1] }, "t")).message).toContain(
      "[2,-1]",
    );
  });

  it("returns frozen constraints", () => {
    const c = constraintsFor("choice", { choices: ["a", "b"] });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.choices)).toBe(true);
  });
});

describe("checkName and checkMetadata", () => {
  it("accepts identifier-like names and rejects the rest", () => {
    for (const name of ["temperature", "_x", "module.prompt", "a-b", "x".repeat(256)]) {
      expect(checkName(name).ok, name).toBe(true);
    }
    for (const name of ["", "1abc", "has space", "x".repeat(257), "a*b", 7, null]) {
      expect(rejection(checkName(name)).code).toBe("validation_failed");
    }
  });

  it("requires string metadata values and names the key", () => {
    const error = rejection(checkMetadata({ owner: "me", step: 3 }, "v"));
    expect(error.message).toContain('metadata "step" must be a string, got 3');
    expect(checkMetadata({ owner: "me" }).ok).toBe(true);
    expect(rejection(checkMetadata("nope")).code).toBe("validation_failed");
  });

  it("rejects a Map or other class instance instead of reading it as empty", () => {
    for (const bad of [new Map([["owner", "me"]]), new Date(), [["owner", "me"]], null]) {
      expect(rejection(checkMetadata(bad, "v"))).toMatchObject({ rule: "metadata" });
    }
    expect(checkMetadata(Object.assign(Object.create(null), { owner: "me" })).ok).toBe(true);
  });
});

describe("checkRegistration", () => {
  it("checks name, type, constraints, value and metadata in one call", () => {
    const result = checkRegistration({
      name: "temperature",
      type: "float",
      value: 0.7,
      constraints: { min: 0, max: 2 },
      metadata: { owner: "optimizer" },
      description: "sampling temperature",
    });
    expect(result).toEqual({
      ok: true,
      value: {
        name: "temperature",
        type: "float",
        value: 0.7,
        constraints: { min: 0, max: 2 },
        metadata: { owner: "optimizer", description: "sampling temperature" },
      },
    });
  });

  it("rejects an unknown type with unknown_type naming the variable", () => {
    const error = rejection(checkRegistration({ name: "x", type: "complex", value: 1 }));
    expect(error.code).toBe("unknown_type");
    expect(error.message).toContain('"complex"');
    expect(error.message).toContain('"x"');
  });

  it("rejects an initial value that breaks its own constraints", () => {
    const error = rejection(
      checkRegistration({
        name: "max_tokens",
        type: "integer",
        value: 9000,
        constraints: { max: 4096 },
      }),
    );
    expect(error).toMatchObject({ code: "validation_failed", rule: "max", variable: "max_tokens" });
  });
});

describe("checkExpectedVersion", () => {
  it("accepts non-negative safe integers (0 matches no variable)", () => {
    for (const version of [0, 1, 7, Number.MAX_SAFE_INTEGER])
      expect(checkExpectedVersion(version, "x")).toEqual({ ok: true, value: version });
  });

  it("answers invalid_argument naming the identifier and the value for anything else", () => {
    for (const version of [-1, 1.5, "2", Number.NaN, null, 2 ** 53, 2n]) {
      const error = rejection(checkExpectedVersion(version, "temperature"));
      expect(error.code).toBe("invalid_argument");
      expect(error.message).toContain('"temperature"');
    }
    expect(rejection(checkExpectedVersion(-1, "t")).message).toContain("-1");
  });
});

describe("string pattern constraints (RE2)", () => {
  const matches = (pattern: string, text: string) =>
    checkValue("s", "string", text, constraintsFor("string", { pattern })).ok;

  it("searches unanchored unless the pattern anchors, one code point per . or class", () => {
    expect(matches("b", "abc")).toBe(true);
    expect(matches("^b", "abc")).toBe(false);
    expect(matches("^a.c$", "a😀c")).toBe(true);
    expect(matches("^[^x]$", "😀")).toBe(true);
    expect(matches("^\\x{e9}\\pL*$", "éa")).toBe(true);
    expect(matches("(?i)^GPT", "gpt-4")).toBe(true);
    expect(matches("^(?P<family>gpt)-\\d+$", "gpt-4")).toBe(true);
  });

  it("refuses at registration what RE2 cannot compile, naming the pattern and the reason", () => {
    for (const [pattern, reason] of [
      ["(?=a)", "Perl syntax"],
      ["(a)\\1", "escape"],
      ["a{2000}", "repeat count"],
      ["\\u00e9", "escape"],
    ] as const) {
      const refused = rejection(checkConstraints("string", { pattern }, "s"));
      expect(refused).toMatchObject({ code: "validation_failed", rule: "constraints" });
      expect(refused.message).toContain("RE2 syntax");
      expect(refused.message).toContain(reason);
      expect(refused.message).toContain(JSON.stringify(pattern));
    }
  });

  it("refuses a pattern longer than MAX_CONSTRAINT_PATTERN_LENGTH (compiling is not free)", () => {
    const refused = rejection(checkConstraints("string", { pattern: "a".repeat(1025) }, "s"));
    expect(refused).toMatchObject({ code: "validation_failed", rule: "constraints" });
    expect(refused.message).toContain("pattern has 1025 characters, at most 1024 allowed");
    expect(checkConstraints("string", { pattern: "a".repeat(1024) }, "s").ok).toBe(true);
  });

  it("checks a value in linear time whatever the pattern ((a+)+$ took 2.3 s before)", () => {
    const constraints = constraintsFor("string", { pattern: "(a+)+$" });
    const started = performance.now();
    const hostile = `${"a".repeat(28)}!`;
    expect(rejection(checkValue("s", "string", hostile, constraints))).toMatchObject({
      rule: "pattern",
    });
    expect(checkValue("s", "string", `${"a".repeat(100_000)}!`, constraints).ok).toBe(false);
    expect(checkValue("s", "string", `!${"a".repeat(100_000)}`, constraints).ok).toBe(true);
    expect(performance.now() - started).toBeLessThan(500);
  });
});
