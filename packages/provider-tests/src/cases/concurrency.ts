import assert from "node:assert/strict";
import { type ConformanceTest, must, mustFail, plainRecord } from "../harness.js";

const WRITERS = 50;

export const compareAndSetTests: ConformanceTest[] = [
  {
    name: "[compareAndSet] setVariable with the current expectedVersion succeeds; a stale one answers version_conflict and changes nothing",
    requires: "compareAndSet",
    async run({ open }) {
      const s = await open();
      await s.add("cas", "integer", 1);
      assert.equal(
        must(await s.set("cas", 2, undefined, { expectedVersion: 1 }), "set at version 1").version,
        2,
      );
      const before = plainRecord(await s.mustRecord("cas"));
      for (const stale of [1, 3, 0]) {
        const error = mustFail(
          await s.set("cas", 99, { stale: "yes" }, { expectedVersion: stale }),
          "version_conflict",
          `set expecting version ${stale}`,
        );
        assert.equal(error.expectedVersion, stale);
        assert.equal(error.actualVersion, 2);
        assert.equal(error.identifier, "cas");
        assert.deepStrictEqual(plainRecord(await s.mustRecord("cas")), before);
      }
      mustFail(
        await s.set("ghost", 1, undefined, { expectedVersion: 1 }),
        "not_found",
        "compare-and-set on an unknown variable",
      );
    },
  },
  {
    name: "[compareAndSet] updateVariables with a stale expectedVersion fails that identifier with version_conflict",
    requires: "compareAndSet",
    async run({ open, capabilities }) {
      const s = await open();
      await s.add("a", "integer", 1);
      await s.add("b", "integer", 1);
      must(await s.set("b", 2), "move b to version 2");
      const written = must(
        await s.update({ a: 10, b: 20 }, undefined, { expectedVersions: { a: 1, b: 2 } }),
        "update at the current versions",
      );
      assert.deepEqual({ ...written.versions }, { a: 2, b: 3 });
      const before = (await s.mustList()).map(plainRecord);
      const error = mustFail(
        await s.update({ a: 11, b: 21 }, undefined, { expectedVersions: { a: 2, b: 2 } }),
        "partial_failure",
        "update with b stale",
      );
      assert.deepEqual(Object.keys(error.failed), ["b"]);
      assert.equal(error.failed.b?.code, "version_conflict");
      if (capabilities.atomicUpdates) {
        assert.deepStrictEqual(
          (await s.mustList()).map(plainRecord),
          before,
          "an atomic batch with a conflict changed state",
        );
      } else {
        assert.deepEqual([...error.applied], ["a"]);
        assert.equal(must(await s.get("b"), "get b"), 20);
      }
    },
  },
  {
    name: "[compareAndSet] in a batch naming one variable twice, the second entry's expectedVersion sees the first entry's write",
    requires: "compareAndSet",
    async run({ open, capabilities }) {
      const s = await open();
      const id = await s.add("x", "integer", 1);
      const written = must(
        await s.update({ x: 2, [id]: 3 }, undefined, { expectedVersions: { x: 1, [id]: 2 } }),
        "update x at 1, then at 2",
      );
      assert.deepEqual({ ...written.versions }, { x: 2, [id]: 3 });
      const before = plainRecord(await s.mustRecord(id));
      const error = mustFail(
        await s.update({ x: 4, [id]: 5 }, undefined, { expectedVersions: { x: 3, [id]: 3 } }),
        "partial_failure",
        "both entries expecting version 3",
      );
      assert.deepEqual(Object.keys(error.failed), [id]);
      assert.equal(error.failed[id]?.code, "version_conflict");
      if (capabilities.atomicUpdates) {
        assert.deepStrictEqual(plainRecord(await s.mustRecord(id)), before);
      } else {
        assert.deepEqual([...error.applied], ["x"]);
        assert.equal((await s.mustRecord(id)).version, 4);
      }
    },
  },
  {
    name: "[compareAndSet] expectedVersions is read for its own keys only: constructor or toString without an entry are written",
    requires: "compareAndSet",
    async run({ open }) {
      const s = await open();
      await s.add("constructor", "integer", 1);
      await s.add("toString", "integer", 1);
      await s.add("x", "integer", 1);
      const written = must(
        await s.update({ constructor: 2, toString: 2, x: 2 }, undefined, {
          expectedVersions: { x: 1 },
        }),
        "update with an expectation for x only",
      );
      assert.deepEqual({ ...written.versions }, { constructor: 2, toString: 2, x: 2 });
      assert.equal(must(await s.get("constructor"), "get constructor"), 2);
    },
  },
  {
    name: "[compareAndSet] a malformed expected version (negative, fractional, not a number) answers invalid_argument and changes nothing",
    requires: "compareAndSet",
    async run({ open }) {
      const s = await open();
      await s.add("a", "integer", 1);
      await s.add("b", "integer", 1);
      const before = (await s.mustList()).map(plainRecord);
      // Not a version_conflict: no version could ever match, so the caller's argument is wrong.
      for (const malformed of [-1, 1.5, "1", Number.NaN]) {
        const label = typeof malformed === "string" ? JSON.stringify(malformed) : malformed;
        mustFail(
          await s.set("a", 2, undefined, { expectedVersion: malformed as number }),
          "invalid_argument",
          `set expecting version ${label}`,
        );
        mustFail(
          await s.update({ a: 2, b: 2 }, undefined, {
            expectedVersions: { a: 1, b: malformed as number },
          }),
          "invalid_argument",
          `updateVariables expecting version ${label} for b`,
        );
        assert.deepStrictEqual(
          (await s.mustList()).map(plainRecord),
          before,
          `expecting version ${label} changed state`,
        );
      }
    },
  },
  {
    name: `[compareAndSet] ${WRITERS} concurrent compare-and-set increment loops lose no increment`,
    requires: "compareAndSet",
    async run({ open }) {
      const s = await open();
      await s.add("counter", "integer", 0);
      let conflicts = 0;
      const increment = async () => {
        for (let attempt = 0; attempt < 10_000; attempt++) {
          const record = await s.mustRecord("counter");
          const written = await s.provider.setVariable(
            s.state,
            "counter",
            (record.value as number) + 1,
            undefined,
            {
              expectedVersion: record.version,
            },
          );
          if (written.ok) return;
          assert.equal(
            written.error.code,
            "version_conflict",
            `increment failed with ${written.error.code}: ${written.error.message}`,
          );
          conflicts++;
        }
        assert.fail("an increment never got through");
      };
      await Promise.all(Array.from({ length: WRITERS }, increment));
      const record = await s.mustRecord("counter");
      assert.equal(
        record.value,
        WRITERS,
        `lost ${WRITERS - (record.value as number)} increments (${conflicts} conflicts seen)`,
      );
      assert.equal(record.version, WRITERS + 1);
    },
  },
];

export const concurrencyTests: ConformanceTest[] = [
  {
    name: "concurrent writes to different variables all land",
    async run({ open }) {
      const s = await open();
      const count = 100;
      for (let i = 0; i < count; i++) await s.add(`w${i}`, "integer", 0);
      const results = await Promise.all(
        Array.from({ length: count }, (_, i) => s.provider.setVariable(s.state, `w${i}`, i + 1)),
      );
      for (const [i, result] of results.entries())
        assert.equal(must(result, `set w${i}`).version, 2);
      const values = must(
        await s.getMany(Array.from({ length: count }, (_, i) => `w${i}`)),
        "getVariables",
      );
      for (let i = 0; i < count; i++) assert.equal(values[`w${i}`], i + 1);
    },
  },
  {
    name: "a 1 MB string survives set, get and export/import",
    async run({ open }) {
      const s = await open();
      const big = `${"x".repeat(1024 * 1024 - 3)}end`;
      await s.add("big", "string", "");
      must(await s.set("big", big), "set 1 MB");
      assert.equal(must(await s.get("big"), "get 1 MB"), big);
      const copy = await open();
      must(
        await copy.import(JSON.parse(JSON.stringify(must(await s.export(), "export")))),
        "import",
      );
      assert.equal(must(await copy.get("big"), "get 1 MB after import"), big);
    },
  },
  {
    name: "a 4096-dimension embedding survives register, set, get and export/import",
    async run({ open }) {
      const s = await open();
      const vector = Array.from({ length: 4096 }, (_, i) => Math.sin(i) / 3);
      await s.add("embedding", "embedding", vector, { constraints: { dimensions: 4096 } });
      assert.deepEqual([...(must(await s.get("embedding"), "get") as number[])], vector);
      const next = Float32Array.from(vector, (x) => x * 2);
      must(await s.set("embedding", next), "set a Float32Array");
      assert.deepEqual(
        [...(must(await s.get("embedding"), "get after set") as number[])],
        Array.from(next),
      );
      mustFail(await s.set("embedding", vector.slice(1)), "validation_failed", "4095 dimensions");
      const copy = await open();
      must(
        await copy.import(JSON.parse(JSON.stringify(must(await s.export(), "export")))),
        "import",
      );
      assert.deepEqual(
        [...(must(await copy.get("embedding"), "get after import") as number[])],
        Array.from(next),
      );
    },
  },
];
