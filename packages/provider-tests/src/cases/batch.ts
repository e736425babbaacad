import assert from "node:assert/strict";
import { type ConformanceTest, must, mustFail, plainRecord, type Session } from "../harness.js";

async function snapshot(s: Session) {
  return (await s.mustList()).map(plainRecord);
}

export const batchTests: ConformanceTest[] = [
  {
    name: "batch operations: getVariables and updateVariables",
    async run({ open, close }) {
      const s = await open();
      await s.add("a", "integer", 1);
      await s.add("b", "integer", 2);
      await s.add("c", "integer", 3);
      assert.deepEqual(must(await s.getMany(["a", "b", "c"]), "getVariables"), {
        a: 1,
        b: 2,
        c: 3,
      });
      must(await s.update({ a: 10, b: 20, c: 30 }), "updateVariables");
      assert.equal(must(await s.get("a"), "get a"), 10);
      assert.equal(must(await s.get("b"), "get b"), 20);
      assert.equal(must(await s.get("c"), "get c"), 30);
      await close(s);
    },
  },
  {
    name: "getVariables returns the found identifiers as given and skips the missing",
    async run({ open }) {
      const s = await open();
      const idA = await s.add("a", "integer", 1);
      await s.add("b", "string", "two");
      const values = must(await s.getMany([idA, "b", "missing", "also_missing"]), "getVariables");
      assert.deepEqual({ ...values }, { [idA]: 1, b: "two" });
      assert.deepEqual(
        { ...must(await s.getMany(["missing"]), "getVariables of only missing") },
        {},
      );
      assert.deepEqual({ ...must(await s.getMany([]), "getVariables of nothing") }, {});
    },
  },
  {
    name: "updateVariables applies every update: +1 version each, metadata merged, versions keyed as given",
    async run({ open }) {
      const s = await open();
      const idA = await s.add("a", "integer", 1, { metadata: { keep: "yes" } });
      await s.add("b", "float", 0.5);
      await s.add("c", "string", "untouched");
      must(await s.set("b", 0.6), "set b");
      const written = must(
        await s.update({ [idA]: 2, b: 0.7 }, { source: "batch_update", run: "1" }),
        "updateVariables",
      );
      assert.deepEqual({ ...written.versions }, { [idA]: 2, b: 3 });
      const a = await s.mustRecord("a");
      assert.equal(a.value, 2);
      assert.equal(a.version, 2);
      assert.deepEqual({ ...a.metadata }, { keep: "yes", source: "batch_update", run: "1" });
      assert.equal(a.source, "batch_update");
      const b = await s.mustRecord("b");
      assert.equal(b.value, 0.7);
      assert.equal(b.version, 3);
      const c = await s.mustRecord("c");
      assert.equal(c.version, 1);
      assert.equal(c.value, "untouched");
    },
  },
  {
    name: "a batch naming one variable twice (by name and by id) applies both in order",
    async run({ open }) {
      const s = await open();
      const id = await s.add("x", "integer", 1);
      const written = must(await s.update({ x: 2, [id]: 3 }), "updateVariables x twice");
      assert.deepEqual({ ...written.versions }, { x: 2, [id]: 3 });
      const record = await s.mustRecord(id);
      assert.equal(record.value, 3);
      assert.equal(record.version, 3, "each entry is one write");
    },
  },
  {
    name: "updateVariables with an empty batch succeeds and changes nothing",
    async run({ open }) {
      const s = await open();
      await s.add("a", "integer", 1);
      const before = await snapshot(s);
      const written = must(await s.update({}), "empty updateVariables");
      assert.deepEqual({ ...written.versions }, {});
      assert.deepEqual(await snapshot(s), before);
    },
  },
  {
    name: "a failing batch answers partial_failure naming exactly the failing identifiers and what was applied",
    async run({ open, capabilities }) {
      const s = await open();
      await s.add("ok1", "integer", 1);
      await s.add("bad", "float", 1, { constraints: { max: 2 } });
      await s.add("ok2", "string", "x");
      const before = await snapshot(s);
      const error = mustFail(
        await s.update({ ok1: 2, bad: 5, ghost: 1, ok2: "y" }),
        "partial_failure",
        "updateVariables",
      );
      assert.deepEqual(Object.keys(error.failed).sort(), ["bad", "ghost"]);
      assert.equal(error.failed.bad?.code, "validation_failed");
      assert.equal(error.failed.ghost?.code, "not_found");
      const expectedApplied = capabilities.atomicUpdates ? [] : ["ok1", "ok2"];
      assert.deepEqual([...error.applied].sort(), expectedApplied);
      // What the error says was applied is exactly what changed.
      const after = await snapshot(s);
      for (const [i, record] of after.entries()) {
        const old = before[i]!;
        if (error.applied.includes(record.name)) {
          assert.equal(
            record.version,
            old.version + 1,
            `${record.name} is reported applied but its version did not move`,
          );
        } else {
          assert.deepStrictEqual(record, old, `${record.name} is not reported applied but changed`);
        }
      }
    },
  },
  {
    name: "[atomicUpdates] a failing batch applies nothing: values, versions and metadata unchanged",
    requires: "atomicUpdates",
    async run({ open }) {
      const s = await open();
      const ids: string[] = [];
      for (let i = 0; i < 6; i++)
        ids.push(await s.add(`n${i}`, "integer", i, { constraints: { max: 100 } }));
      const before = await snapshot(s);
      // The failure first, in the middle, last; a type error, a constraint error, an unknown identifier.
      const batches: Record<string, unknown>[] = [
        { n0: 1000, n1: 11, n2: 12 },
        { n0: 10, [ids[1]!]: 11, n2: "twelve", n3: 13, n4: 14 },
        { n0: 10, n1: 11, n2: 12, n3: 13, n4: 14, n5: 101 },
        { n0: 10, n1: 11, missing: 12 },
      ];
      for (const batch of batches) {
        const error = mustFail(
          await s.update(batch, { batch: "yes" }),
          "partial_failure",
          `updateVariables ${JSON.stringify(batch)}`,
        );
        assert.deepEqual([...error.applied], [], "an atomic batch reported applied updates");
        assert.deepStrictEqual(
          await snapshot(s),
          before,
          `batch ${JSON.stringify(batch)} changed state`,
        );
      }
    },
  },
  {
    name: "updateVariables with invalid batch metadata is rejected and changes nothing",
    async run({ open }) {
      const s = await open();
      await s.add("a", "integer", 1);
      const before = await snapshot(s);
      const result = await s.update({ a: 2 }, { bad: 1 } as unknown as Record<string, string>);
      assert.equal(result.ok, false, "updateVariables accepted a numeric metadata value");
      assert.deepStrictEqual(await snapshot(s), before);
    },
  },
];

export const failureIdentifierTests: ConformanceTest[] = [
  {
    name: "a failure is reported under the identifier as given: by id when given by id, by name when by name",
    async run({ open, capabilities }) {
      const s = await open();
      const id = await s.add("bounded", "integer", 1, { constraints: { max: 5 } });
      await s.add("named", "integer", 1, { constraints: { max: 5 } });
      assert.equal(mustFail(await s.set("ghost", 1), "not_found", "set ghost").identifier, "ghost");
      assert.equal(
        mustFail(await s.delete("ghost_id"), "not_found", "delete ghost").identifier,
        "ghost_id",
      );
      const batch = mustFail(
        await s.update({ [id]: 9, named: 9, ghost: 1 }),
        "partial_failure",
        "a batch failing by id, by name and unknown",
      );
      assert.deepEqual(Object.keys(batch.failed).sort(), [id, "ghost", "named"].sort());
      assert.equal(batch.failed.ghost?.code, "not_found");
      assert.equal((batch.failed.ghost as { identifier?: string }).identifier, "ghost");
      assert.equal(batch.failed[id]?.code, "validation_failed");
      assert.equal(batch.failed.named?.code, "validation_failed");
      if (!capabilities.compareAndSet) return;
      const conflict = mustFail(
        await s.set(id, 2, undefined, { expectedVersion: 7 }),
        "version_conflict",
        "set by id at a stale version",
      );
      assert.equal(conflict.identifier, id, "version_conflict names the identifier as given");
      const batchConflict = mustFail(
        await s.update({ [id]: 2, named: 2 }, undefined, {
          expectedVersions: { [id]: 7, named: 7 },
        }),
        "partial_failure",
        "a batch at stale versions",
      );
      assert.deepEqual(Object.keys(batchConflict.failed).sort(), [id, "named"].sort());
      assert.equal((batchConflict.failed[id] as { identifier?: string }).identifier, id);
      assert.equal((batchConflict.failed.named as { identifier?: string }).identifier, "named");
    },
  },
];
