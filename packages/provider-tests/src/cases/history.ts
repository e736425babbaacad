import assert from "node:assert/strict";
import type {
  HistoryOptions,
  Result,
  VariableRecord,
  VariableVersion,
} from "@dspex/state-provider";
import { type ConformanceTest, must, mustFail, type Session } from "../harness.js";

/** `getVariableHistory` on the session's state; the capability gate guarantees it exists. */
function history(
  s: Session,
  identifier: string,
  options?: HistoryOptions,
): Promise<Result<readonly VariableVersion[]>> {
  const read = s.provider.getVariableHistory;
  assert.equal(typeof read, "function", "capabilities().history is claimed: getVariableHistory");
  return read!.call(s.provider, s.state, identifier, options);
}

/** What a history entry must say about the record it was taken from. */
function versionOf(record: VariableRecord) {
  return {
    version: record.version,
    value: record.value,
    metadata: { ...record.metadata },
    source: record.source,
    timestamp: record.updatedAt,
  };
}

const plain = (entry: VariableVersion) => ({ ...entry, metadata: { ...entry.metadata } });
const versions = (entries: readonly VariableVersion[]) => entries.map((entry) => entry.version);

export const historyTests: ConformanceTest[] = [
  {
    name: "[history] getVariableHistory lists every version newest first: value, version, metadata, source, timestamp",
    requires: "history",
    async run({ open }) {
      const s = await open();
      await s.add("score", "float", 0.1, { metadata: { trial: "1" } });
      const seen = [await s.mustRecord("score")];
      must(await s.set("score", 0.5, { trial: "2", source: "python" }), "set");
      seen.push(await s.mustRecord("score"));
      must(await s.set("score", 0.3, { trial: "3" }), "set");
      seen.push(await s.mustRecord("score"));
      const entries = must(await history(s, "score"), "getVariableHistory");
      assert.deepStrictEqual(
        entries.map(plain),
        seen.reverse().map(versionOf),
        "one entry per version, newest (the current record) first, each as the record stood",
      );
    },
  },
  {
    name: "[history] limit answers the newest versions; failed writes and failed batches add none",
    requires: "history",
    async run({ open }) {
      const s = await open();
      await s.add("n", "integer", 1, { constraints: { max: 10 } });
      must(await s.set("n", 2), "set");
      mustFail(await s.set("n", 99), "validation_failed", "set past max");
      must(await s.update({ n: 3 }), "updateVariables");
      assert.equal((await s.update({ n: 99 })).ok, false, "a batch past max fails");
      assert.deepEqual(versions(must(await history(s, "n"), "history")), [3, 2, 1]);
      assert.deepEqual(versions(must(await history(s, "n", { limit: 2 }), "limit 2")), [3, 2]);
      assert.deepEqual(versions(must(await history(s, "n", { limit: 1 }), "limit 1")), [3]);
      assert.deepEqual(versions(must(await history(s, "n", { limit: 50 }), "limit 50")), [3, 2, 1]);
      assert.deepEqual(
        must(await history(s, "n"), "history").map((entry) => entry.value),
        [3, 2, 1],
      );
    },
  },
  {
    name: "[history] at least the last 20 versions of a variable are retained",
    requires: "history",
    async run({ open }) {
      const s = await open();
      await s.add("step", "integer", 0);
      for (let i = 1; i <= 25; i++) must(await s.set("step", i), `set ${i}`);
      const entries = must(await history(s, "step", { limit: 20 }), "history");
      assert.deepEqual(
        versions(entries),
        Array.from({ length: 20 }, (_, i) => 26 - i),
        "the 20 newest versions, consecutive",
      );
      assert.deepEqual(
        entries.map((entry) => entry.value),
        Array.from({ length: 20 }, (_, i) => 25 - i),
      );
    },
  },
  {
    name: "[history] by name and by id alike; a deleted variable's history goes with it",
    requires: "history",
    async run({ open }) {
      const s = await open();
      const id = await s.add("x", "string", "a");
      must(await s.set("x", "b"), "set");
      const byName = must(await history(s, "x"), "history by name");
      assert.deepStrictEqual(must(await history(s, id), "history by id"), byName);
      mustFail(await history(s, "nothing"), "not_found", "history of an unknown variable");
      must(await s.delete(id), "delete");
      mustFail(await history(s, "x"), "not_found", "history by name after delete");
      mustFail(await history(s, id), "not_found", "history by id after delete");
      await s.add("x", "string", "fresh");
      const fresh = must(await history(s, "x"), "history of the re-registered name");
      assert.deepEqual(
        fresh.map((entry) => [entry.version, entry.value]),
        [[1, "fresh"]],
        "a new variable of the same name starts a history of its own",
      );
    },
  },
  {
    name: "[history] a limit that is not a positive integer, or a non-string identifier, is invalid_argument",
    requires: "history",
    async run({ open }) {
      const s = await open();
      await s.add("t", "float", 0.5);
      for (const limit of [0, -1, 1.5, "2", Number.NaN, Number.POSITIVE_INFINITY]) {
        const refused = mustFail(
          await history(s, "t", { limit: limit as number }),
          "invalid_argument",
          `limit ${String(limit)}`,
        );
        assert.match(refused.message, /limit/, "the error names the limit");
      }
      mustFail(
        await history(s, 7 as unknown as string),
        "invalid_argument",
        "a number as identifier",
      );
      mustFail(
        await history(s, "t", "all" as unknown as HistoryOptions),
        "invalid_argument",
        "options that are not an object",
      );
      mustFail(await history(s, "t", { limit: 0 }), "invalid_argument", "limit 0, again");
      assert.equal(must(await history(s, "t"), "history after refusals").length, 1);
    },
  },
  {
    name: "[history] after cleanup getVariableHistory answers closed",
    requires: "history",
    async run({ open, close }) {
      const s = await open();
      await s.add("kept", "integer", 1);
      await close(s);
      mustFail(await history(s, "kept"), "closed", "getVariableHistory after cleanup");
    },
  },
];
