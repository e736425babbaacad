import assert from "node:assert/strict";
import {
  EXPORT_FORMAT,
  EXPORT_FORMAT_VERSION,
  type ExportedState,
  parseExport,
} from "@dspex/state-provider";
import { type ConformanceTest, must, mustFail, plainRecord, type Session } from "../harness.js";

async function fillEveryType(s: Session): Promise<void> {
  await s.add("f", "float", 0.5, {
    constraints: { min: 0, max: 1 },
    metadata: { owner: "opt" },
    description: "a float",
  });
  await s.add("i", "integer", 3, { constraints: { min: 0 } });
  await s.add("s", "string", "héllo 🌍", { constraints: { maxLength: 20, pattern: "^h" } });
  await s.add("b", "boolean", true);
  await s.add("c", "choice", "b", { constraints: { choices: ["a", "b"] } });
  await s.add("m", "module", "Predict", { constraints: { allowedModules: ["Predict"] } });
  await s.add("e", "embedding", [0.1, 0.2, 0.3], { constraints: { dimensions: 3 } });
  await s.add("t", "tensor", { shape: [1, 2], data: [1, 2] }, { constraints: { shape: [1, 2] } });
  await s.add("nan", "float", Number.NaN);
  await s.add("inf", "float", Number.NEGATIVE_INFINITY);
  must(await s.set("f", 0.75, { source: "python", step: "2" }), "set f");
  must(await s.set("i", 4), "set i");
  must(await s.set("i", 5), "set i again");
}

async function snapshot(s: Session) {
  return (await s.mustList()).map(plainRecord);
}

/** Documents `importState` must refuse, each named by what is wrong with it. */
function malformedExports(valid: ExportedState): [string, unknown][] {
  const [id, variable] = Object.entries(valid.variables)[0]!;
  const withVariable = (patch: Record<string, unknown>) => ({
    ...valid,
    variables: { ...valid.variables, [id]: { ...variable, ...patch } },
  });
  return [
    ["null", null],
    ["a string", "not an export"],
    ["an empty object", {}],
    ["another format", { ...valid, format: "other.format" }],
    ["a future format version", { ...valid, formatVersion: EXPORT_FORMAT_VERSION + 1 }],
    ["variables not an object", { ...valid, variables: [] }],
    ["a version of 0", withVariable({ version: 0 })],
    ["an unknown type", withVariable({ type: "decimal" })],
    ["a value violating its constraints", withVariable({ value: 99 })],
    ["a value of the wrong type", withVariable({ value: "0.5" })],
    ["invalid constraints", withVariable({ constraints: { min: 5, max: 1 } })],
    ["an id differing from its key", withVariable({ id: "other_id" })],
    ["an invalid name", withVariable({ name: "1 bad name" })],
    ["metadata with a number", withVariable({ metadata: { n: 1 } })],
    ["a negative timestamp", withVariable({ createdAt: -1 })],
    [
      "a variableIndex naming the wrong id",
      { ...valid, variableIndex: { ...valid.variableIndex, [variable.name]: "nope" } },
    ],
    [
      "a variableIndex naming a missing variable",
      { ...valid, variableIndex: { ...valid.variableIndex, ghost: id } },
    ],
  ];
}

export const exportTests: ConformanceTest[] = [
  {
    name: "export and import state",
    async run({ open, close }) {
      const s1 = await open();
      await s1.add("x", "float", 3.14);
      await s1.add("y", "string", "test");
      const exported = must(await s1.export(), "exportState");
      assert.equal(exported.sessionId, s1.sessionId);
      assert.equal(Object.keys(exported.variables).length, 2);
      const s2 = await open();
      must(await s2.import(exported), "importState");
      assert.equal(must(await s2.get("x"), "get x"), 3.14);
      assert.equal(must(await s2.get("y"), "get y"), "test");
      await close(s1);
      await close(s2);
    },
  },
  {
    name: "exportState produces a document parseExport accepts, with every variable keyed by id",
    async run({ open }) {
      const s = await open({ metadata: { purpose: "conformance" } });
      await fillEveryType(s);
      const before = Date.now();
      const exported = must(await s.export(), "exportState");
      assert.equal(exported.format, EXPORT_FORMAT);
      assert.equal(exported.formatVersion, EXPORT_FORMAT_VERSION);
      assert.equal(exported.sessionId, s.sessionId);
      assert.ok(exported.exportedAt >= before - 1000, "exportedAt is not a wall-clock time");
      assert.equal(exported.metadata.purpose, "conformance");
      const parsed = parseExport(JSON.parse(JSON.stringify(exported)));
      assert.ok(parsed.ok, parsed.ok ? "" : parsed.error.message);
      const records = await snapshot(s);
      assert.deepEqual(
        Object.keys(exported.variables),
        records.map((r) => r.id),
        "variables are keyed by id in registration order",
      );
      assert.deepEqual(
        { ...exported.variableIndex },
        Object.fromEntries(records.map((r) => [r.name, r.id])),
      );
      assert.deepStrictEqual(parsed.value.records.map(plainRecord), records);
    },
  },
  {
    name: "export → JSON → import into a fresh instance keeps ids, versions, types, constraints, metadata, source and timestamps",
    async run({ open }) {
      const s1 = await open();
      await fillEveryType(s1);
      const original = await snapshot(s1);
      const document = JSON.parse(JSON.stringify(must(await s1.export(), "exportState")));
      const s2 = await open();
      must(await s2.import(document), "importState");
      assert.deepStrictEqual(await snapshot(s2), original);
      for (const record of original) {
        assert.deepStrictEqual(
          must(await s2.get(record.id), `get ${record.id}`),
          must(await s1.get(record.id), `get ${record.id} in the source`),
        );
      }
      // Imported variables keep working: versions continue, constraints still hold.
      assert.equal(
        must(await s2.set("i", 6), "set imported i").version,
        original.find((r) => r.name === "i")!.version + 1,
      );
      mustFail(await s2.set("f", 2), "validation_failed", "constraints survive import");
    },
  },
  {
    name: "import merges: a record with an existing id replaces it, new ones are added, others are kept",
    async run({ open }) {
      const source = await open();
      const sharedId = await source.add("shared", "integer", 1);
      must(await source.set("shared", 50, { from: "source" }), "set shared");
      await source.add("fresh", "string", "new");
      const document = must(await source.export(), "export source");

      const target = await open();
      must(
        await target.import({
          ...document,
          variables: { [sharedId]: document.variables[sharedId] },
          variableIndex: { shared: sharedId },
        }),
        "first import",
      );
      must(await target.set("shared", 7, { from: "target" }), "diverge in target");
      await target.add("local_only", "boolean", true);
      must(await target.import(document), "merge import");

      assert.deepEqual((await target.mustList()).map((r) => r.name).sort(), [
        "fresh",
        "local_only",
        "shared",
      ]);
      const shared = await target.mustRecord(sharedId);
      assert.equal(shared.value, 50, "the imported record replaces the one with the same id");
      assert.equal(shared.version, 2);
      assert.equal(shared.metadata.from, "source");
      assert.equal(must(await target.get("local_only"), "get local_only"), true);
      assert.equal(must(await target.get("fresh"), "get fresh"), "new");
    },
  },
  {
    name: "import of a name that belongs to another id answers already_exists and imports nothing",
    async run({ open }) {
      const source = await open();
      // The clean record comes first, so an import that is not all or nothing has already stored it.
      await source.add("free", "integer", 2);
      await source.add("taken", "integer", 1);
      const document = must(await source.export(), "export");
      const target = await open();
      await target.add("taken", "integer", 100);
      const before = await snapshot(target);
      const error = mustFail(
        await target.import(document),
        "already_exists",
        "import a clashing name",
      );
      assert.equal(error.identifier, "taken");
      assert.deepStrictEqual(await snapshot(target), before, "a failed import changed the target");
    },
  },
  {
    name: "import may swap the names of variables it replaces; a name kept by a variable it does not replace answers already_exists and changes nothing",
    async run({ open }) {
      const s = await open();
      const alpha = await s.add("alpha", "integer", 1);
      const beta = await s.add("beta", "string", "b");
      const kept = await s.add("kept", "boolean", true);
      const document = JSON.parse(
        JSON.stringify(must(await s.export(), "export")),
      ) as ExportedState;
      const variable = (id: string, patch: object) => ({ ...document.variables[id]!, ...patch });
      // Conflicts are judged on the state after the import: both old names are freed by it.
      const swap = {
        ...document,
        variables: {
          [alpha]: variable(alpha, { name: "beta", value: 10 }),
          [beta]: variable(beta, { name: "alpha", value: "was beta" }),
        },
        variableIndex: { beta: alpha, alpha: beta },
      };
      must(await s.import(swap), "import swapping alpha and beta");
      const named = async (name: string) => {
        const record = await s.mustRecord(name);
        return { id: record.id, value: record.value };
      };
      assert.deepEqual(await named("alpha"), { id: beta, value: "was beta" });
      assert.deepEqual(await named("beta"), { id: alpha, value: 10 });
      assert.deepEqual(await named("kept"), { id: kept, value: true });
      assert.equal((await s.mustList()).length, 3);

      const before = await snapshot(s);
      // The clean record comes first, so an import that is not all or nothing has already stored it.
      const clash = {
        ...document,
        variables: {
          [beta]: variable(beta, { name: "alpha", value: "changed" }),
          [alpha]: variable(alpha, { name: "kept", value: 20 }),
        },
        variableIndex: { alpha: beta, kept: alpha },
      };
      const error = mustFail(
        await s.import(clash),
        "already_exists",
        "import taking the name of a variable it does not replace",
      );
      assert.equal(error.identifier, "kept");
      assert.deepStrictEqual(await snapshot(s), before, "a failed import changed the target");
    },
  },
  {
    name: "malformed exports are rejected with invalid_export and change nothing",
    async run({ open }) {
      const source = await open();
      await source.add("v", "float", 0.5, { constraints: { max: 1 } });
      const valid = JSON.parse(
        JSON.stringify(must(await source.export(), "export")),
      ) as ExportedState;
      const target = await open();
      await target.add("existing", "integer", 1);
      const before = await snapshot(target);
      for (const [what, document] of malformedExports(valid)) {
        const error = mustFail(await target.import(document), "invalid_export", `import ${what}`);
        assert.equal(typeof error.path, "string", `import ${what}: no path`);
        assert.deepStrictEqual(await snapshot(target), before, `import ${what} changed the target`);
      }
      must(await target.import(valid), "the valid document still imports");
    },
  },
  {
    name: "init with existingState imports it",
    async run({ open }) {
      const source = await open();
      await fillEveryType(source);
      const records = await snapshot(source);
      const document = must(await source.export(), "export");
      const migrated = await open({ existingState: JSON.parse(JSON.stringify(document)) });
      assert.deepStrictEqual(await snapshot(migrated), records);
    },
  },
  {
    name: "init with a malformed existingState fails with invalid_export",
    async run({ provider, initOptions, close }) {
      const result = await provider.init({
        ...initOptions(),
        existingState: { format: "nope" } as unknown as ExportedState,
      });
      if (result.ok) {
        await close({ provider, state: result.value } as Session);
        assert.fail("init accepted a malformed existingState");
      }
      assert.equal(result.error.code, "invalid_export");
    },
  },
  {
    name: "export of an empty state has no variables",
    async run({ open }) {
      const s = await open();
      const exported = must(await s.export(), "export");
      assert.deepEqual({ ...exported.variables }, {});
      assert.deepEqual({ ...exported.variableIndex }, {});
      assert.ok(parseExport(exported).ok);
    },
  },
];

/** Import together with the other rules: renames, replaced records, compare-and-set. */
export const importCombinationTests: ConformanceTest[] = [
  {
    name: "an import that renames a variable: the new name resolves, the old one is free, the id stays",
    async run({ open }) {
      const s = await open();
      const id = await s.add("old_name", "integer", 1);
      await s.add("other", "integer", 2);
      const document = JSON.parse(
        JSON.stringify(must(await s.export(), "export")),
      ) as ExportedState;
      const renamed = {
        ...document,
        variables: { [id]: { ...document.variables[id]!, name: "new_name" } },
        variableIndex: { new_name: id },
      };
      must(await s.import(renamed), "import renaming old_name");
      mustFail(await s.get("old_name"), "not_found", "the old name after the rename");
      assert.equal(must(await s.get("new_name"), "get new_name"), 1);
      assert.equal((await s.mustRecord(id)).name, "new_name");
      assert.deepEqual(
        (await s.mustList()).map((r) => r.name),
        ["new_name", "other"],
      );
      assert.deepEqual(Object.keys(must(await s.export(), "export").variableIndex), [
        "new_name",
        "other",
      ]);
      const reborn = await s.add("old_name", "string", "free again");
      assert.notEqual(reborn, id);
      assert.deepEqual(must(await s.getMany(["old_name", "new_name"]), "getVariables"), {
        old_name: "free again",
        new_name: 1,
      });
    },
  },
  {
    name: "a replacing import takes the document's metadata (not merged) and keeps the record's place in the list",
    async run({ open }) {
      const s = await open();
      const first = await s.add("first", "integer", 1, { metadata: { old: "1", shared: "old" } });
      await s.add("second", "integer", 2);
      await s.add("third", "integer", 3);
      const document = JSON.parse(
        JSON.stringify(must(await s.export(), "export")),
      ) as ExportedState;
      must(await s.set("first", 10, { later: "yes" }), "set after the export");
      const replacing = {
        ...document,
        variables: {
          [first]: { ...document.variables[first]!, metadata: { shared: "new", fresh: "2" } },
        },
        variableIndex: { first },
      };
      must(await s.import(replacing), "import replacing first");
      const record = await s.mustRecord(first);
      assert.deepEqual({ ...record.metadata }, { shared: "new", fresh: "2" }, "metadata");
      assert.equal(record.value, 1);
      assert.equal(record.version, 1);
      assert.deepEqual(
        (await s.mustList()).map((r) => r.name),
        ["first", "second", "third"],
        "a replaced record moved in the list",
      );
      assert.deepEqual(
        Object.keys(must(await s.export(), "export").variables)[0],
        first,
        "a replaced record moved in the export",
      );
    },
  },
  {
    name: "[compareAndSet] after an import, compare-and-set checks the imported version",
    requires: "compareAndSet",
    async run({ open }) {
      const s = await open();
      const id = await s.add("x", "integer", 1);
      must(await s.set("x", 2), "set to version 2");
      const document = JSON.parse(
        JSON.stringify(must(await s.export(), "export")),
      ) as ExportedState;
      must(await s.set("x", 3), "set to version 3");
      must(await s.set("x", 4), "set to version 4");
      must(await s.import(document), "import the version-2 record back");
      assert.equal((await s.mustRecord(id)).version, 2);
      const stale = mustFail(
        await s.set("x", 5, undefined, { expectedVersion: 4 }),
        "version_conflict",
        "expecting the version from before the import",
      );
      assert.equal(stale.actualVersion, 2);
      assert.equal(
        must(await s.set("x", 5, undefined, { expectedVersion: 2 }), "set at the imported version")
          .version,
        3,
      );
      const bumped = {
        ...document,
        variables: { [id]: { ...document.variables[id]!, version: 9 } },
      };
      must(await s.import(bumped), "import at version 9");
      mustFail(
        await s.update({ x: 6 }, undefined, { expectedVersions: { x: 3 } }),
        "partial_failure",
        "a batch expecting the pre-import version",
      );
      assert.deepEqual(
        {
          ...must(
            await s.update({ [id]: 6 }, undefined, { expectedVersions: { [id]: 9 } }),
            "a batch at the imported version",
          ).versions,
        },
        { [id]: 10 },
      );
    },
  },
];
