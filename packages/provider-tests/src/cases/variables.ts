import assert from "node:assert/strict";
import {
  CAPABILITY_FLAGS,
  CONTRACT_VERSION,
  DEFAULT_SOURCE,
  REQUIRED_CALLBACKS,
  type VariableType,
  validateProvider,
} from "@dspex/state-provider";
import { type ConformanceTest, must, mustFail, plainRecord, sleep } from "../harness.js";

const major = (version: string) => version.split(".")[0];

export const contractTests: ConformanceTest[] = [
  {
    name: "implements every required callback",
    async run({ provider }) {
      assert.doesNotThrow(() => validateProvider(provider));
      for (const callback of REQUIRED_CALLBACKS)
        assert.equal(typeof provider[callback], "function", callback);
      assert.equal(typeof provider.name, "string");
      assert.ok(provider.name.length > 0, "provider.name is empty");
    },
  },
  {
    name: "capabilities are booleans and requiresBridge is a boolean",
    async run({ provider }) {
      const capabilities = provider.capabilities();
      for (const flag of CAPABILITY_FLAGS)
        assert.equal(typeof capabilities[flag], "boolean", `capabilities().${flag}`);
      assert.deepEqual(
        provider.capabilities(),
        capabilities,
        "capabilities() changes between calls",
      );
      assert.equal(typeof provider.requiresBridge(), "boolean");
    },
  },
  {
    name: "contractVersion has the major version of CONTRACT_VERSION",
    async run({ provider }) {
      assert.equal(typeof provider.contractVersion, "string");
      assert.equal(major(provider.contractVersion), major(CONTRACT_VERSION));
    },
  },
  {
    name: "[streaming] subscribe and unsubscribe are implemented",
    requires: "streaming",
    async run({ provider }) {
      assert.equal(typeof provider.subscribe, "function");
      assert.equal(typeof provider.unsubscribe, "function");
    },
  },
  {
    name: "basic variable lifecycle: register, get by name and id, set, delete",
    async run({ open, close }) {
      const s = await open();
      const id = await s.add("test_var", "string", "hello");
      assert.equal(typeof id, "string");
      assert.ok(id.length > 0);
      assert.equal(must(await s.get("test_var"), "get by name"), "hello");
      assert.equal(must(await s.get(id), "get by id"), "hello");
      must(await s.set("test_var", "world"), "set");
      assert.equal(must(await s.get("test_var"), "get after set"), "world");
      must(await s.delete("test_var"), "delete");
      mustFail(await s.get("test_var"), "not_found", "get after delete");
      await close(s);
    },
  },
];

export const registerTests: ConformanceTest[] = [
  {
    name: "registerVariable returns ids unique in the session",
    async run({ open }) {
      const s = await open();
      const ids = new Set<string>();
      for (let i = 0; i < 20; i++) ids.add(await s.add(`v${i}`, "integer", i));
      assert.equal(ids.size, 20);
      for (let i = 0; i < 20; i++) assert.equal(must(await s.get(`v${i}`), `get v${i}`), i);
    },
  },
  {
    name: "a duplicate name is rejected with already_exists and the existing variable is untouched",
    async run({ open }) {
      const s = await open();
      const id = await s.add("dup", "integer", 1, { metadata: { owner: "first" } });
      must(await s.set("dup", 2), "set");
      const before = plainRecord(await s.mustRecord("dup"));
      const error = mustFail(
        await s.register("dup", "integer", 99, { metadata: { owner: "second" } }),
        "already_exists",
        "duplicate register",
      );
      assert.equal(error.identifier, "dup");
      mustFail(
        await s.register("dup", "string", "other"),
        "already_exists",
        "duplicate register with another type",
      );
      assert.deepEqual(plainRecord(await s.mustRecord("dup")), before);
      assert.deepEqual(plainRecord(await s.mustRecord(id)), before);
      assert.equal((await s.mustList()).length, 1);
    },
  },
  {
    name: "an invalid name is rejected with validation_failed and nothing is registered",
    async run({ open }) {
      const s = await open();
      for (const name of ["", "1abc", "has space", "a/b", "x".repeat(300)]) {
        const error = mustFail(
          await s.register(name, "integer", 1),
          "validation_failed",
          `register ${JSON.stringify(name)}`,
        );
        assert.equal(error.rule, "name");
      }
      assert.equal((await s.mustList()).length, 0);
    },
  },
  {
    name: "an unknown type is rejected with unknown_type and nothing is registered",
    async run({ open }) {
      const s = await open();
      const error = mustFail(
        await s.register("x", "decimal" as VariableType, 1),
        "unknown_type",
        "register type decimal",
      );
      assert.equal(error.type, "decimal");
      assert.equal((await s.mustList()).length, 0);
      mustFail(await s.get("x"), "not_found", "get after rejected register");
    },
  },
  {
    name: "invalid constraints are rejected at registration and nothing is registered",
    async run({ open }) {
      const s = await open();
      const cases: [VariableType, unknown, Record<string, unknown>][] = [
        ["float", 1, { min: 2, max: 1 }],
        ["float", 1, { minimum: 0 }],
        ["integer", 1, { min: 0.5 }],
        ["string", "a", { pattern: "([" }],
        ["string", "a", { minLength: 3, maxLength: 1 }],
        ["choice", "a", {}],
        ["choice", "a", { choices: [] }],
        ["boolean", true, { max: 1 }],
        ["embedding", [1], { dimensions: 0 }],
      ];
      for (const [type, value, constraints] of cases) {
        const what = `register ${type} with ${JSON.stringify(constraints)}`;
        const error = mustFail(
          await s.register("c", type, value, { constraints }),
          "validation_failed",
          what,
        );
        assert.equal(error.rule, "constraints", what);
      }
      mustFail(
        await s.register("c", "choice", "a"),
        "validation_failed",
        "choice without constraints",
      );
      assert.equal((await s.mustList()).length, 0);
    },
  },
  {
    name: "an initial value violating its constraints is rejected and nothing is registered",
    async run({ open }) {
      const s = await open();
      const error = mustFail(
        await s.register("t", "float", 3, { constraints: { min: 0, max: 2 } }),
        "validation_failed",
        "register 3 with max 2",
      );
      assert.equal(error.rule, "max");
      mustFail(
        await s.register("t", "integer", "7"),
        "validation_failed",
        "register a string as integer",
      );
      mustFail(await s.get("t"), "not_found", "get after rejected register");
      assert.equal((await s.mustList()).length, 0);
    },
  },
  {
    name: "every type is accepted and its value normalised",
    async run({ open }) {
      const s = await open();
      const cases: [VariableType, unknown, unknown, Record<string, unknown>?][] = [
        ["float", 0.7, 0.7],
        ["float", -0, 0],
        ["float", 1e308, 1e308],
        ["integer", 42, 42],
        ["integer", -0, 0],
        ["integer", 7n, 7],
        ["integer", Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
        ["string", "héllo wörld 🌍", "héllo wörld 🌍"],
        ["string", "", ""],
        ["boolean", true, true],
        ["boolean", false, false],
        ["choice", "b", "b", { choices: ["a", "b"] }],
        ["module", "ChainOfThought", "ChainOfThought"],
        ["embedding", [0.1, -0, 3], [0.1, 0, 3]],
        ["embedding", Float32Array.of(0.5, 0.25), [0.5, 0.25]],
        ["embedding", Float64Array.of(0.1, 0.2), [0.1, 0.2]],
        ["tensor", { shape: [2, 2], data: [1, 2, 3, 4] }, { shape: [2, 2], data: [1, 2, 3, 4] }],
        ["tensor", { shape: [0], data: [] }, { shape: [0], data: [] }],
      ];
      for (const [i, [type, input, expected, constraints]] of cases.entries()) {
        const name = `${type}_${i}`;
        const what = `${type} ${JSON.stringify(String(input))}`;
        const id = must(
          await s.register(name, type, input, constraints ? { constraints } : undefined),
          `register ${what}`,
        ).id;
        assert.deepStrictEqual(
          normalise(must(await s.get(name), `get ${what}`)),
          expected,
          `get ${what}`,
        );
        const record = await s.mustRecord(id);
        assert.equal(record.type, type, `type of ${what}`);
        assert.deepStrictEqual(normalise(record.value), expected, `record value of ${what}`);
        must(await s.set(name, input), `set ${what}`);
        assert.deepStrictEqual(
          normalise(must(await s.get(id), `get ${what} after set`)),
          expected,
          `set ${what}`,
        );
      }
    },
  },
  {
    name: "a stored value cannot be changed through the caller's objects",
    async run({ open }) {
      const s = await open();
      const vector = [1, 2, 3];
      const tensor = { shape: [3], data: [1, 2, 3] };
      await s.add("vec", "embedding", vector);
      await s.add("ten", "tensor", tensor);
      vector[0] = 99;
      tensor.data[0] = 99;
      assert.deepStrictEqual(normalise(must(await s.get("vec"), "get vec")), [1, 2, 3]);
      assert.deepStrictEqual(normalise(must(await s.get("ten"), "get ten")), {
        shape: [3],
        data: [1, 2, 3],
      });
      const read = must(await s.get("vec"), "get vec") as number[];
      try {
        read[1] = 77;
      } catch {
        // Frozen values throw in strict mode; either way the stored value must not change.
      }
      assert.deepStrictEqual(normalise(must(await s.get("vec"), "get vec again")), [1, 2, 3]);
    },
  },
  {
    name: "a value written by set, updateVariables or import cannot be changed through the caller's objects afterwards",
    async run({ open }) {
      const s = await open();
      await s.add("vec", "embedding", [0, 0, 0]);
      await s.add("ten", "tensor", { shape: [3], data: [0, 0, 0] });
      const setVector = [1, 2, 3];
      const setTensor = { shape: [3], data: [1, 2, 3] };
      must(await s.set("vec", setVector), "set vec");
      must(await s.set("ten", setTensor), "set ten");
      setVector[0] = 99;
      setTensor.data[0] = 99;
      setTensor.shape[0] = 1;
      assert.deepStrictEqual(normalise(must(await s.get("vec"), "get vec after set")), [1, 2, 3]);
      assert.deepStrictEqual(normalise(must(await s.get("ten"), "get ten after set")), {
        shape: [3],
        data: [1, 2, 3],
      });
      const batchVector = [4, 5, 6];
      const batchTensor = { shape: [3], data: [4, 5, 6] };
      must(await s.update({ vec: batchVector, ten: batchTensor }), "updateVariables");
      batchVector[0] = 99;
      batchTensor.data[0] = 99;
      assert.deepStrictEqual(normalise(must(await s.get("vec"), "get vec after batch")), [4, 5, 6]);
      assert.deepStrictEqual(normalise(must(await s.get("ten"), "get ten after batch")), {
        shape: [3],
        data: [4, 5, 6],
      });
      const document = JSON.parse(JSON.stringify(must(await s.export(), "export")));
      const copy = await open();
      must(await copy.import(document), "import");
      for (const variable of Object.values(document.variables) as { value: unknown }[]) {
        const value = variable.value as number[] | { data: number[] };
        if (Array.isArray(value)) value[0] = 99;
        else value.data[0] = 99;
      }
      assert.deepStrictEqual(
        normalise(must(await copy.get("vec"), "get vec after import")),
        [4, 5, 6],
      );
      assert.deepStrictEqual(normalise(must(await copy.get("ten"), "get ten after import")), {
        shape: [3],
        data: [4, 5, 6],
      });
    },
  },
  {
    name: "records and lists handed out cannot be used to change stored state",
    async run({ open }) {
      const s = await open();
      await s.add("vec", "embedding", [1, 2, 3], { metadata: { owner: "a" } });
      await s.add("ten", "tensor", { shape: [2], data: [1, 2] });
      const before = (await s.mustList()).map(plainRecord);
      const tamper = (what: string, change: () => void) => {
        try {
          change();
        } catch {
          // Frozen objects throw in strict mode; either way the stored state must not change.
        }
        return what;
      };
      const record = (await s.mustRecord("vec")) as unknown as Record<string, unknown>;
      tamper("version", () => {
        record.version = 99;
      });
      tamper("name", () => {
        record.name = "renamed";
      });
      tamper("metadata", () => {
        (record.metadata as Record<string, string>).owner = "mallory";
      });
      tamper("value", () => {
        (record.value as number[])[0] = 99;
      });
      const tensor = (await s.mustRecord("ten")).value as { shape: number[]; data: number[] };
      tamper("tensor", () => {
        tensor.data[0] = 99;
        tensor.shape[0] = 9;
      });
      const list = (await s.mustList()) as unknown as Record<string, unknown>[];
      tamper("list", () => {
        list.pop();
      });
      tamper("list record", () => {
        (list[0] as Record<string, unknown>).version = 42;
      });
      assert.deepStrictEqual((await s.mustList()).map(plainRecord), before);
      assert.deepStrictEqual(
        plainRecord(await s.mustRecord("vec")),
        before.find((r) => r.name === "vec"),
      );
    },
  },
  {
    name: "special floats NaN, Infinity and -Infinity are stored",
    async run({ open }) {
      const s = await open();
      for (const [name, value] of [
        ["nan", Number.NaN],
        ["inf", Number.POSITIVE_INFINITY],
        ["ninf", Number.NEGATIVE_INFINITY],
      ] as const) {
        await s.add(name, "float", 0);
        must(await s.set(name, value), `set ${name}`);
        assert.ok(Object.is(must(await s.get(name), `get ${name}`), value), `${name} round-trips`);
      }
    },
  },
  {
    name: "description is stored as metadata.description",
    async run({ open }) {
      const s = await open();
      await s.add("temperature", "float", 0.7, {
        description: "sampling temperature",
        metadata: { unit: "none" },
      });
      const record = await s.mustRecord("temperature");
      assert.equal(record.metadata.description, "sampling temperature");
      assert.equal(record.metadata.unit, "none");
    },
  },
];

export const readTests: ConformanceTest[] = [
  {
    name: "getVariableRecord returns the full record: version 1, constraints, metadata, wall-clock timestamps, source",
    async run({ open }) {
      const s = await open();
      const before = Date.now();
      const id = await s.add("temperature", "float", 0.7, {
        constraints: { min: 0, max: 2 },
        metadata: { owner: "optimizer" },
      });
      const after = Date.now();
      const record = await s.mustRecord("temperature");
      assert.equal(record.id, id);
      assert.equal(record.name, "temperature");
      assert.equal(record.type, "float");
      assert.equal(record.value, 0.7);
      assert.deepEqual({ ...record.constraints }, { min: 0, max: 2 });
      assert.deepEqual({ ...record.metadata }, { owner: "optimizer" });
      assert.equal(record.version, 1);
      assert.ok(
        record.createdAt >= before && record.createdAt <= after,
        `createdAt ${record.createdAt} not in [${before}, ${after}]`,
      );
      assert.equal(record.updatedAt, record.createdAt);
      assert.equal(record.source, DEFAULT_SOURCE);
      assert.deepEqual(plainRecord(await s.mustRecord(id)), plainRecord(record));
    },
  },
  {
    name: "getVariable and getVariableRecord answer not_found for an unknown identifier",
    async run({ open }) {
      const s = await open();
      await s.add("known", "integer", 1);
      for (const identifier of ["unknown", "var_does_not_exist", "", "known "]) {
        const error = mustFail(
          await s.get(identifier),
          "not_found",
          `getVariable(${JSON.stringify(identifier)})`,
        );
        assert.equal(error.identifier, identifier);
        mustFail(
          await s.record(identifier),
          "not_found",
          `getVariableRecord(${JSON.stringify(identifier)})`,
        );
      }
    },
  },
  {
    name: "an identifier resolves as an id first, then as a name",
    async run({ open }) {
      const s = await open();
      const firstId = await s.add("first", "string", "by id");
      // A name may look like an id; the id still wins.
      must(await s.register(firstId, "string", "by name"), `register a variable named ${firstId}`);
      assert.equal(must(await s.get(firstId), "get by the shared identifier"), "by id");
      must(await s.delete("first"), "delete first");
      assert.equal(must(await s.get(firstId), "get after the id's owner is gone"), "by name");
    },
  },
  {
    name: "names that are Object.prototype members (__proto__, constructor, toString) are ordinary names in every call",
    async run({ open }) {
      const s = await open();
      const odd = ["__proto__", "constructor", "toString", "hasOwnProperty"];
      const ids: string[] = [];
      for (const [i, name] of odd.entries()) ids.push(await s.add(name, "integer", i));
      for (const [i, name] of odd.entries())
        assert.equal(must(await s.get(name), `get ${name}`), i);
      const own = (object: object, key: string) =>
        Object.getOwnPropertyDescriptor(object, key)?.value as unknown;
      const values = must(await s.getMany([...odd, "missing"]), "getVariables");
      assert.deepEqual(Object.keys(values).sort(), [...odd].sort(), "getVariables keys");
      for (const [i, name] of odd.entries()) assert.equal(own(values, name), i, `values.${name}`);
      const written = must(
        await s.update(Object.fromEntries(odd.map((name, i) => [name, i + 10]))),
        "updateVariables",
      );
      assert.deepEqual(Object.keys(written.versions).sort(), [...odd].sort(), "versions keys");
      for (const name of odd) assert.equal(own(written.versions, name), 2, `versions.${name}`);
      const error = mustFail(
        await s.update(Object.fromEntries([["__proto__", "ten"]])),
        "partial_failure",
        "a failing update of __proto__",
      );
      assert.deepEqual(Object.keys(error.failed), ["__proto__"], "failed keys");
      const document = JSON.parse(JSON.stringify(must(await s.export(), "export")));
      const copy = await open();
      must(await copy.import(document), "import");
      assert.deepEqual(
        (await copy.mustList()).map((r) => [r.id, r.name, r.value]),
        odd.map((name, i) => [ids[i], name, i + 10]),
      );
    },
  },
];

interface Violation {
  readonly type: VariableType;
  readonly constraints?: Record<string, unknown>;
  readonly initial: unknown;
  readonly bad: readonly (readonly [value: unknown, rule: string])[];
}

const numericViolations: Violation[] = [
  {
    type: "float",
    constraints: { min: 0, max: 2 },
    initial: 1,
    bad: [
      [-0.1, "min"],
      [2.5, "max"],
      ["1", "type"],
      [true, "type"],
      [null, "type"],
    ],
  },
  {
    type: "integer",
    constraints: { min: 1, max: 10 },
    initial: 5,
    bad: [
      [0, "min"],
      [11, "max"],
      [2.5, "type"],
      [2 ** 53, "type"],
      ["5", "type"],
      [10n ** 20n, "type"],
    ],
  },
];
const stringViolations: Violation[] = [
  {
    type: "string",
    constraints: { minLength: 2, maxLength: 5, pattern: "^[a-z]+$" },
    initial: "abc",
    bad: [
      ["a", "minLength"],
      ["abcdef", "maxLength"],
      ["ab1", "pattern"],
      [5, "type"],
    ],
  },
  { type: "string", constraints: { enum: ["x", "y"] }, initial: "x", bad: [["z", "enum"]] },
  {
    type: "boolean",
    initial: true,
    bad: [
      ["true", "type"],
      [1, "type"],
    ],
  },
];
const structuredViolations: Violation[] = [
  {
    type: "choice",
    constraints: { choices: ["a", "b"] },
    initial: "a",
    bad: [
      ["c", "choices"],
      [1, "type"],
    ],
  },
  {
    type: "module",
    constraints: { allowedModules: ["Predict", "ChainOfThought"] },
    initial: "Predict",
    bad: [
      ["ReAct", "allowedModules"],
      ["", "type"],
    ],
  },
  {
    type: "embedding",
    constraints: { dimensions: 3 },
    initial: [1, 2, 3],
    bad: [
      [[1, 2], "dimensions"],
      [[1, "x", 3], "type"],
      [[1, Number.NaN, 3], "type"],
      ["123", "type"],
    ],
  },
  {
    type: "tensor",
    constraints: { shape: [2, 2] },
    initial: { shape: [2, 2], data: [1, 2, 3, 4] },
    bad: [
      [{ shape: [4], data: [1, 2, 3, 4] }, "shape"],
      [{ shape: [2, 2], data: [1, 2, 3] }, "shape"],
      [{ shape: [2, 2], data: [1, 2, 3, 4], extra: 1 }, "type"],
      [[1, 2, 3, 4], "type"],
    ],
  },
];

function violationTests(): ConformanceTest[] {
  const make = (label: string, violations: Violation[]): ConformanceTest => ({
    name: `${label} violations are rejected with validation_failed; value, version and metadata unchanged`,
    async run({ open }) {
      const s = await open();
      for (const [i, violation] of violations.entries()) {
        const name = `${violation.type}_${i}`;
        await s.add(
          name,
          violation.type,
          violation.initial,
          violation.constraints ? { constraints: violation.constraints } : undefined,
        );
        must(
          await s.set(name, violation.initial, { touched: "no" }),
          `set ${name} to its initial value`,
        );
        const before = plainRecord(await s.mustRecord(name));
        for (const [value, rule] of violation.bad) {
          const what = `set ${name} (${violation.type} ${JSON.stringify(violation.constraints ?? {})}) to ${String(value)}`;
          const error = mustFail(
            await s.set(name, value, { touched: "yes" }),
            "validation_failed",
            what,
          );
          assert.equal(error.rule, rule, `${what}: rule`);
          assert.deepStrictEqual(
            plainRecord(await s.mustRecord(name)),
            before,
            `${what}: the record changed`,
          );
        }
      }
    },
  });
  return [
    make("float and integer", numericViolations),
    make("string and boolean", stringViolations),
    make("choice, module, embedding and tensor", structuredViolations),
  ];
}

export const writeTests: ConformanceTest[] = [
  {
    name: "setVariable works by name and by id and returns the new version",
    async run({ open }) {
      const s = await open();
      const id = await s.add("x", "integer", 1);
      assert.equal(must(await s.set("x", 2), "set by name").version, 2);
      assert.equal(must(await s.get(id), "get by id"), 2);
      assert.equal(must(await s.set(id, 3), "set by id").version, 3);
      assert.equal(must(await s.get("x"), "get by name"), 3);
      assert.equal((await s.mustRecord("x")).version, 3);
    },
  },
  {
    name: "version is 1 at registration and moves by exactly one per successful set",
    async run({ open }) {
      const s = await open();
      await s.add("counter", "integer", 0);
      assert.equal((await s.mustRecord("counter")).version, 1);
      for (let i = 1; i <= 10; i++) {
        const written = must(await s.set("counter", i), `set ${i}`);
        assert.equal(written.version, i + 1);
        assert.equal((await s.mustRecord("counter")).version, i + 1);
      }
      // Setting the same value is still a write.
      assert.equal(must(await s.set("counter", 10), "set same value").version, 12);
    },
  },
  {
    name: "setVariable on an unknown identifier answers not_found and creates nothing",
    async run({ open }) {
      const s = await open();
      const error = mustFail(await s.set("ghost", 1), "not_found", "set ghost");
      assert.equal(error.identifier, "ghost");
      mustFail(await s.get("ghost"), "not_found", "get ghost");
      assert.equal((await s.mustList()).length, 0);
    },
  },
  ...violationTests(),
  {
    name: "metadata is preserved at registration and merged on set (new keys win)",
    async run({ open }) {
      const s = await open();
      await s.add("m", "integer", 1, { metadata: { a: "1", b: "2" } });
      must(await s.set("m", 2, { b: "20", c: "3" }), "set with metadata");
      assert.deepEqual({ ...(await s.mustRecord("m")).metadata }, { a: "1", b: "20", c: "3" });
      must(await s.set("m", 3), "set without metadata");
      assert.deepEqual({ ...(await s.mustRecord("m")).metadata }, { a: "1", b: "20", c: "3" });
      must(await s.set("m", 4, {}), "set with empty metadata");
      assert.deepEqual({ ...(await s.mustRecord("m")).metadata }, { a: "1", b: "20", c: "3" });
    },
  },
  {
    name: "source is metadata.source of the last write, else typescript",
    async run({ open }) {
      const s = await open();
      await s.add("src", "integer", 1, { metadata: { source: "python" } });
      assert.equal((await s.mustRecord("src")).source, "python");
      must(await s.set("src", 2, { source: "optimizer" }), "set with source");
      assert.equal((await s.mustRecord("src")).source, "optimizer");
      must(await s.set("src", 3), "set without source");
      assert.equal((await s.mustRecord("src")).source, DEFAULT_SOURCE);
    },
  },
  {
    name: "invalid metadata on set is rejected with validation_failed and changes nothing",
    async run({ open }) {
      const s = await open();
      await s.add("meta", "integer", 1, { metadata: { a: "1" } });
      const before = plainRecord(await s.mustRecord("meta"));
      const error = mustFail(
        await s.set("meta", 2, { a: 5 } as unknown as Record<string, string>),
        "validation_failed",
        "set with a numeric metadata value",
      );
      assert.equal(error.rule, "metadata");
      assert.deepEqual(plainRecord(await s.mustRecord("meta")), before);
      mustFail(
        await s.register("meta2", "integer", 1, {
          metadata: { n: 1 } as unknown as Record<string, string>,
        }),
        "validation_failed",
        "register with a numeric metadata value",
      );
      mustFail(await s.get("meta2"), "not_found", "get after rejected register");
    },
  },
  {
    name: "updatedAt moves on set and createdAt does not",
    async run({ open }) {
      const s = await open();
      await s.add("clock", "integer", 1);
      const registered = await s.mustRecord("clock");
      await sleep(5);
      const before = Date.now();
      must(await s.set("clock", 2), "set");
      const after = Date.now();
      const updated = await s.mustRecord("clock");
      assert.equal(updated.createdAt, registered.createdAt);
      assert.ok(
        updated.updatedAt >= before && updated.updatedAt <= after,
        `updatedAt ${updated.updatedAt} not in [${before}, ${after}]`,
      );
      assert.ok(updated.updatedAt > registered.updatedAt, "updatedAt did not move");
    },
  },
];

export const deleteTests: ConformanceTest[] = [
  {
    name: "deleteVariable by name: name and id stop resolving everywhere",
    async run({ open }) {
      const s = await open();
      const id = await s.add("doomed", "integer", 1);
      await s.add("kept", "integer", 2);
      must(await s.delete("doomed"), "delete by name");
      for (const identifier of ["doomed", id]) {
        mustFail(await s.get(identifier), "not_found", `get ${identifier}`);
        mustFail(await s.record(identifier), "not_found", `getVariableRecord ${identifier}`);
        mustFail(await s.set(identifier, 5), "not_found", `set ${identifier}`);
        mustFail(await s.delete(identifier), "not_found", `delete ${identifier} again`);
      }
      assert.deepEqual(must(await s.getMany(["doomed", id, "kept"]), "getVariables"), { kept: 2 });
      assert.deepEqual(
        (await s.mustList()).map((r) => r.name),
        ["kept"],
      );
      const exported = must(await s.export(), "export");
      assert.deepEqual(Object.keys(exported.variableIndex), ["kept"]);
    },
  },
  {
    name: "deleteVariable by id",
    async run({ open }) {
      const s = await open();
      const id = await s.add("doomed", "string", "bye");
      must(await s.delete(id), "delete by id");
      mustFail(await s.get("doomed"), "not_found", "get by name");
      mustFail(await s.get(id), "not_found", "get by id");
      assert.equal((await s.mustList()).length, 0);
    },
  },
  {
    name: "deleteVariable on an unknown identifier answers not_found",
    async run({ open }) {
      const s = await open();
      await s.add("present", "integer", 1);
      const error = mustFail(await s.delete("absent"), "not_found", "delete absent");
      assert.equal(error.identifier, "absent");
      assert.equal((await s.mustList()).length, 1);
    },
  },
  {
    name: "a deleted name can be registered again with a new id at version 1",
    async run({ open }) {
      const s = await open();
      const first = await s.add("reborn", "integer", 1);
      must(await s.set("reborn", 2), "set");
      must(await s.delete("reborn"), "delete");
      const second = await s.add("reborn", "string", "again");
      assert.notEqual(second, first);
      const record = await s.mustRecord("reborn");
      assert.equal(record.version, 1);
      assert.equal(record.type, "string");
      assert.equal(record.value, "again");
      mustFail(await s.get(first), "not_found", "the old id");
    },
  },
];

export const listTests: ConformanceTest[] = [
  {
    name: "listVariables on an empty state is empty",
    async run({ open }) {
      const s = await open();
      assert.deepEqual([...(await s.mustList())], []);
    },
  },
  {
    name: "listVariables returns full records in registration order",
    async run({ open }) {
      const s = await open();
      const names = ["zeta", "alpha", "mu", "beta", "omega"];
      for (const [i, name] of names.entries()) await s.add(name, "integer", i);
      must(await s.set("alpha", 100), "set alpha");
      let list = await s.mustList();
      assert.deepEqual(
        list.map((r) => r.name),
        names,
        "order after set",
      );
      for (const record of list)
        assert.deepEqual(plainRecord(record), plainRecord(await s.mustRecord(record.id)));
      assert.equal(list[1]?.value, 100);
      assert.equal(list[1]?.version, 2);
      must(await s.delete("mu"), "delete mu");
      await s.add("last", "integer", 9);
      list = await s.mustList();
      assert.deepEqual(
        list.map((r) => r.name),
        ["zeta", "alpha", "beta", "omega", "last"],
      );
    },
  },
];

/** Typed arrays and frozen arrays compare as plain arrays. */
function normalise(value: unknown): unknown {
  if (Array.isArray(value)) return [...value];
  if (typeof value === "object" && value !== null && "shape" in value && "data" in value) {
    const tensor = value as { shape: readonly number[]; data: readonly number[] };
    return { shape: [...tensor.shape], data: [...tensor.data] };
  }
  return value;
}

/** The edges of the constraint rules, where a backend with its own checks tends to differ. */
export const constraintEdgeTests: ConformanceTest[] = [
  {
    name: "an integer within rounding of a whole number (1 + 1e-10, 2 + 2^-51) is not an integer",
    async run({ open }) {
      const s = await open();
      await s.add("n", "integer", 1, { constraints: { min: -10, max: 10 } });
      for (const value of [1 + 1e-10, 3 - 1e-12, 2 + 2 ** -51, 0.9999999999]) {
        const error = mustFail(await s.set("n", value), "validation_failed", `set ${value}`);
        assert.equal(error.rule, "type", `set ${value}: rule`);
        mustFail(await s.update({ n: value }), "partial_failure", `updateVariables ${value}`);
        mustFail(
          await s.register(`n_${String(value).replace(/\W/g, "_")}`, "integer", value),
          "validation_failed",
          `register ${value}`,
        );
      }
      const record = await s.mustRecord("n");
      assert.equal(record.value, 1);
      assert.equal(record.version, 1);
      assert.equal(must(await s.set("n", 2.0), "set 2.0").version, 2);
    },
  },
  {
    name: "choice is exact and case-sensitive",
    async run({ open }) {
      const s = await open();
      await s.add("level", "choice", "Low", { constraints: { choices: ["Low", "high"] } });
      for (const value of ["low", "LOW", "High", " Low", "Low "]) {
        const error = mustFail(await s.set("level", value), "validation_failed", `set ${value}`);
        assert.equal(error.rule, "choices", `set ${JSON.stringify(value)}: rule`);
      }
      must(await s.set("level", "high"), "set high");
      assert.equal(must(await s.get("level"), "get"), "high");
      mustFail(
        await s.register("other", "choice", "HIGH", { constraints: { choices: ["Low", "high"] } }),
        "validation_failed",
        "register HIGH",
      );
    },
  },
  {
    name: "pattern is an unanchored search; anchors in the pattern are honoured",
    async run({ open }) {
      const s = await open();
      await s.add("has_b", "string", "b", { constraints: { pattern: "b" } });
      await s.add("starts_a", "string", "a", { constraints: { pattern: "^a" } });
      await s.add("digits", "string", "1", { constraints: { pattern: "^[0-9]+$" } });
      for (const value of ["abc", "cb", "xbx"]) must(await s.set("has_b", value), `has_b ${value}`);
      mustFail(await s.set("has_b", "ac"), "validation_failed", "has_b ac");
      must(await s.set("starts_a", "abc"), "starts_a abc");
      const error = mustFail(await s.set("starts_a", "ba"), "validation_failed", "starts_a ba");
      assert.equal(error.rule, "pattern");
      must(await s.set("digits", "123"), "digits 123");
      mustFail(await s.set("digits", "12a"), "validation_failed", "digits 12a");
    },
  },
  {
    name: "NaN fails min and max; without bounds it is stored",
    async run({ open }) {
      const s = await open();
      await s.add("bounded", "float", 0.5, { constraints: { min: 0, max: 1 } });
      await s.add("capped", "float", 0.5, { constraints: { max: 1 } });
      await s.add("free", "float", 0.5);
      const below = mustFail(
        await s.set("bounded", Number.NaN),
        "validation_failed",
        "NaN in [0, 1]",
      );
      assert.equal(below.rule, "min");
      const above = mustFail(await s.set("capped", Number.NaN), "validation_failed", "NaN, max 1");
      assert.equal(above.rule, "max");
      mustFail(
        await s.update({ bounded: Number.NaN }),
        "partial_failure",
        "NaN in [0, 1] in a batch",
      );
      mustFail(
        await s.register("n", "float", Number.NaN, { constraints: { min: 0 } }),
        "validation_failed",
        "register NaN with min 0",
      );
      assert.equal(must(await s.get("bounded"), "get bounded"), 0.5);
      must(await s.set("free", Number.NaN), "NaN without bounds");
      assert.ok(Number.isNaN(must(await s.get("free"), "get free")));
    },
  },
  {
    name: "string lengths count code points: characters outside the BMP count once",
    async run({ open }) {
      const s = await open();
      await s.add("short", "string", "ab", { constraints: { minLength: 2, maxLength: 3 } });
      must(await s.set("short", "😀😀😀"), "three astral characters (six UTF-16 units)");
      must(await s.set("short", "😀é"), "two characters");
      const above = mustFail(await s.set("short", "😀😀😀😀"), "validation_failed", "four");
      assert.equal(above.rule, "maxLength");
      const below = mustFail(await s.set("short", "😀"), "validation_failed", "one");
      assert.equal(below.rule, "minLength");
      assert.equal(must(await s.get("short"), "get"), "😀é");
    },
  },
  {
    name: "constraints are the ones given at registration, whatever the caller does to its object afterwards",
    async run({ open }) {
      const s = await open();
      const bounds = { min: 0, max: 5 };
      const choices = { choices: ["a", "b"] };
      const vector = { dimensions: 2 };
      await s.add("n", "integer", 1, { constraints: bounds });
      await s.add("c", "choice", "a", { constraints: choices });
      await s.add("e", "embedding", [1, 2], { constraints: vector });
      bounds.max = 100;
      choices.choices.push("z");
      vector.dimensions = 3;
      mustFail(await s.set("n", 6), "validation_failed", "above the registered max");
      mustFail(await s.set("c", "z"), "validation_failed", "a choice added afterwards");
      mustFail(await s.set("e", [1, 2, 3]), "validation_failed", "the changed dimensions");
      assert.deepEqual({ ...(await s.mustRecord("n")).constraints }, { min: 0, max: 5 });
      assert.deepEqual([...((await s.mustRecord("c")).constraints.choices ?? [])], ["a", "b"]);
      assert.equal((await s.mustRecord("e")).constraints.dimensions, 2);
    },
  },
  {
    name: "a batch checks every constraint a set checks: dimensions, shape, lengths, pattern, choices",
    async run({ open }) {
      const s = await open();
      await s.add("e", "embedding", [1, 2], { constraints: { dimensions: 2 } });
      await s.add("t", "tensor", { shape: [2], data: [1, 2] }, { constraints: { shape: [2] } });
      await s.add("s", "string", "ab", { constraints: { maxLength: 2, pattern: "^a" } });
      await s.add("c", "choice", "a", { constraints: { choices: ["a", "b"] } });
      await s.add("ok", "integer", 1);
      const before = (await s.mustList()).map(plainRecord);
      const cases: [string, unknown, string][] = [
        ["e", [1, 2, 3], "dimensions"],
        ["t", { shape: [3], data: [1, 2, 3] }, "shape"],
        ["s", "abc", "maxLength"],
        ["s", "ba", "pattern"],
        ["c", "A", "choices"],
      ];
      for (const [name, value, rule] of cases) {
        const what = `updateVariables ${name} → ${JSON.stringify(value)}`;
        const error = mustFail(await s.update({ ok: 2, [name]: value }), "partial_failure", what);
        assert.deepEqual(Object.keys(error.failed), [name], `${what}: failed`);
        assert.equal(error.failed[name]?.code, "validation_failed", `${what}: code`);
        assert.equal((error.failed[name] as { rule?: string }).rule, rule, `${what}: rule`);
        if (error.applied.length === 0)
          assert.deepStrictEqual((await s.mustList()).map(plainRecord), before, `${what}: state`);
        else must(await s.set("ok", 1), "reset ok");
      }
    },
  },
];
