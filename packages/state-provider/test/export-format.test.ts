import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  buildCheckedExport,
  buildExport,
  checkRegistration,
  EXPORT_FORMAT,
  EXPORT_FORMAT_VERSION,
  parseExport,
  type VariableRecord,
} from "../src/index.js";

function record(
  id: string,
  name: string,
  type: string,
  value: unknown,
  constraints?: unknown,
): VariableRecord {
  const checked = checkRegistration({
    name,
    type,
    value,
    constraints,
    metadata: { owner: "test" },
  });
  if (!checked.ok) throw new Error(checked.error.message);
  return {
    id,
    ...checked.value,
    version: 3,
    createdAt: 1_700_000_000_000,
    updatedAt: 1_700_000_000_500,
    source: "python",
  };
}

const records = [
  record("var_1", "temperature", "float", Number.NaN),
  record("var_2", "max_tokens", "integer", 512, { min: 1, max: 4096 }),
  record("var_3", "model", "choice", "gpt-4", { choices: ["gpt-4", "claude-3"] }),
  record("var_4", "prompt", "string", "Be brief.", { maxLength: 100 }),
  record("var_5", "use_cot", "boolean", true),
  record("var_6", "program", "module", "ChainOfThought"),
  record("var_7", "query_vec", "embedding", [0.1, 0.2], { dimensions: 2 }),
  record("var_8", "weights", "tensor", { shape: [2, 1], data: [1, 2] }),
];

const document = () => buildExport("session-1", records, { purpose: "test" });

describe("export format", () => {
  it("is self-describing and keyed by id with a name index", () => {
    const doc = document();
    expect(doc.format).toBe(EXPORT_FORMAT);
    expect(doc.formatVersion).toBe(EXPORT_FORMAT_VERSION);
    expect(doc.sessionId).toBe("session-1");
    expect(Object.keys(doc.variables)).toEqual(records.map((r) => r.id));
    expect(doc.variableIndex.max_tokens).toBe("var_2");
    expect(doc.variables.var_1?.value).toBe("NaN");
    expect(doc.metadata).toEqual({ purpose: "test" });
  });

  it("accepts what buildExport produces, also after a JSON round trip, with every field intact", () => {
    const parsed = parseExport(JSON.parse(JSON.stringify(document())));
    if (!parsed.ok) throw new Error(parsed.error.message);
    expect(parsed.value.sessionId).toBe("session-1");
    expect(parsed.value.metadata).toEqual({ purpose: "test" });
    expect(parsed.value.records).toHaveLength(records.length);
    for (const [i, r] of parsed.value.records.entries()) {
      const original = records[i] as VariableRecord;
      expect({ ...r, value: undefined }).toEqual({ ...original, value: undefined });
      expect(JSON.stringify(r.value)).toBe(JSON.stringify(original.value));
    }
    expect(Number.isNaN(parsed.value.records[0]?.value)).toBe(true);
  });

  it("round-trips names and metadata keys that are Object.prototype members (__proto__, constructor)", () => {
    const odd = [
      record("var_p", "__proto__", "integer", 1),
      record("var_c", "constructor", "string", "c"),
      record("var_t", "toString", "boolean", true),
    ].map((r) => ({ ...r, metadata: Object.fromEntries([["__proto__", "meta"]]) }));
    const sessionMetadata = Object.fromEntries([["__proto__", "session"]]);
    const parsed = parseExport(JSON.parse(JSON.stringify(buildExport("s", odd, sessionMetadata))));
    if (!parsed.ok) throw new Error(parsed.error.message);
    expect(parsed.value.records.map((r) => r.name)).toEqual([
      "__proto__",
      "constructor",
      "toString",
    ]);
    for (const r of parsed.value.records) {
      expect(Object.keys(r.metadata)).toEqual(["__proto__"]);
      expect(Object.getPrototypeOf(r.metadata)).toBe(Object.prototype);
    }
    expect(Object.keys(parsed.value.metadata)).toEqual(["__proto__"]);
  });

  it("does not take an inherited member for a missing name index entry", () => {
    const doc = JSON.parse(
      JSON.stringify(buildExport("s", [record("var_c", "constructor", "integer", 1)])),
    );
    doc.variableIndex = {};
    const parsed = parseExport(doc);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatchObject({ path: "variableIndex.constructor" });
  });

  it("rejects a __proto__ key in the name index that names no variable", () => {
    const doc = JSON.parse(JSON.stringify(document()));
    doc.variableIndex = JSON.parse(
      `{"__proto__": "var_1", ${JSON.stringify(doc.variableIndex).slice(1)}`,
    );
    const parsed = parseExport(doc);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatchObject({ path: "variableIndex.__proto__" });
  });

  const REMOVE = Symbol("remove");
  /** Sets (or removes) the field at `path` of a JSON document. */
  function change(doc: unknown, path: string[], value: unknown): void {
    let node = doc as Record<string, unknown>;
    for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
    const last = path[path.length - 1] as string;
    if (value === REMOVE) delete node[last];
    else node[last] = value;
  }

  const broken: Array<[string, string[], unknown, string]> = [
    ["a wrong format name", ["format"], "other", "format"],
    ["a future format version", ["formatVersion"], 2, "formatVersion"],
    ["a missing sessionId", ["sessionId"], REMOVE, "sessionId"],
    ["variables as an array", ["variables"], [], "variables"],
    ["a key that differs from the id", ["variables", "var_1", "id"], "var_9", "variables.var_1.id"],
    ["an unknown type", ["variables", "var_2", "type"], "complex", "variables.var_2.type"],
    ["a version of 0", ["variables", "var_2", "version"], 0, "variables.var_2.version"],
    ["a fractional version", ["variables", "var_2", "version"], 1.5, "variables.var_2.version"],
    [
      "a value breaking its constraint",
      ["variables", "var_2", "value"],
      9999,
      "variables.var_2.value",
    ],
    ["a value of the wrong type", ["variables", "var_5", "value"], "yes", "variables.var_5.value"],
    [
      "an invalid constraint",
      ["variables", "var_2", "constraints"],
      { min: 5, max: 1 },
      "variables.var_2.constraints",
    ],
    [
      "a non-string metadata value",
      ["variables", "var_3", "metadata"],
      { n: 1 },
      "variables.var_3.metadata.n",
    ],
    ["an invalid name", ["variables", "var_3", "name"], "has space", "variables.var_3.name"],
    ["a name index pointing elsewhere", ["variableIndex", "model"], "var_1", "variableIndex.model"],
    [
      "a name index entry without variable",
      ["variableIndex", "ghost"],
      "var_1",
      "variableIndex.ghost",
    ],
    ["a duplicate name", ["variables", "var_4", "name"], "model", "variables.var_4.name"],
    ["a negative timestamp", ["variables", "var_1", "createdAt"], -1, "variables.var_1.createdAt"],
  ];
  for (const [what, field, value, path] of broken) {
    it(`rejects ${what} with invalid_export at ${path}`, () => {
      const doc = JSON.parse(JSON.stringify(document()));
      change(doc, field, value);
      const parsed = parseExport(doc);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) {
        expect(parsed.error.code).toBe("invalid_export");
        expect(parsed.error).toMatchObject({ path });
        expect(parsed.error.message).toContain(path);
      }
    });
  }

  it("never throws, whatever it is given", () => {
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error("trap");
        },
        ownKeys() {
          throw new Error("trap");
        },
      },
    );
    for (const input of [null, undefined, 42, "x", [], hostile]) {
      const parsed = parseExport(input);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.error.code).toBe("invalid_export");
    }
    fc.assert(
      fc.property(fc.anything(), (input) => {
        expect(parseExport(input).ok).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});

describe("exports a backend built from checked records (buildCheckedExport)", () => {
  async function exported() {
    const { MemoryProvider } = await import("../src/backend/index.js");
    const provider = new MemoryProvider();
    const state = (await provider.init()) as { ok: true; value: never };
    await provider.registerVariable(state.value, "model", "choice", "small", {
      constraints: { choices: ["small", "large"] },
    });
    await provider.registerVariable(state.value, "t", "float", Number.NaN);
    await provider.registerVariable(state.value, "v", "embedding", [0.5, 1]);
    const document = await provider.exportState(state.value);
    if (!document.ok) throw new Error(document.error.message);
    return document.value;
  }

  it("is frozen all the way down, and parses to the very records exported", async () => {
    const document = await exported();
    const model = Object.values(document.variables)[0]!;
    expect(Object.isFrozen(document)).toBe(true);
    expect(Object.isFrozen(document.variables)).toBe(true);
    expect(Object.isFrozen(document.variableIndex)).toBe(true);
    expect(Object.isFrozen(document.metadata)).toBe(true);
    expect(Object.isFrozen(model)).toBe(true);
    expect(Object.isFrozen(model.constraints.choices)).toBe(true);
    expect(Object.isFrozen(Object.values(document.variables)[2]!.value)).toBe(true);
    expect(() => {
      (model as { value: unknown }).value = "huge";
    }).toThrow(TypeError);
    const parsed = parseExport(document);
    const full = parseExport(JSON.parse(JSON.stringify(document)));
    expect(parsed.ok && full.ok).toBe(true);
    // The fast answer is the full check's answer.
    expect(parsed.ok && parsed.value.records.map((r) => ({ ...r }))).toEqual(
      full.ok && full.value.records.map((r) => ({ ...r })),
    );
    expect(parsed.ok && parsed.value.sessionId).toBe(document.sessionId);
  });

  it("validates in full whatever crossed JSON or was copied with a change", async () => {
    const document = await exported();
    const [id, model] = Object.entries(document.variables)[0]!;
    const viaJson = JSON.parse(JSON.stringify(document));
    viaJson.variables[id].value = "huge";
    const refused = parseExport(viaJson);
    expect(!refused.ok && refused.error.code).toBe("invalid_export");
    expect(!refused.ok && refused.error.message).toMatch(/huge/);
    const copied = {
      ...document,
      variables: { ...document.variables, [id]: { ...model, value: "huge" } },
    };
    const refusedCopy = parseExport(copied);
    expect(!refusedCopy.ok && refusedCopy.error.code).toBe("invalid_export");
  });

  it("keeps the full check for a record a document cannot carry", () => {
    const valid = record("a", "a", "integer", 1);
    const document = buildCheckedExport("s", [{ ...valid, version: 2 ** 31 }]);
    expect(Object.isFrozen(document)).toBe(false);
    const parsed = parseExport(document);
    expect(!parsed.ok && parsed.error.code).toBe("invalid_export");
    expect(!parsed.ok && parsed.error.message).toMatch(/variables\.a\.version/);
  });
});

describe("buildCheckedExport of records that repeat an id or a name", () => {
  it("leaves the document to the full check, which names the problem", () => {
    const a = record("a", "same", "integer", 1);
    const b = record("b", "same", "integer", 2);
    const document = buildCheckedExport("s", [a, b]);
    expect(Object.isFrozen(document)).toBe(false);
    const parsed = parseExport(document);
    expect(!parsed.ok && parsed.error.code).toBe("invalid_export");
  });
});
