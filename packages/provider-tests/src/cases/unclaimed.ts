import assert from "node:assert/strict";
import { type ConformanceTest, must, mustFail, plainRecord } from "../harness.js";

/*
 * What a backend answers for a capability it does not claim, as the contract README states:
 * `unsupported`, never a silent success that drops the caller's protection.
 */
export const unclaimedTests: ConformanceTest[] = [
  {
    name: "[without compareAndSet] setVariable and updateVariables with an expected version answer unsupported and change nothing",
    unless: "compareAndSet",
    async run({ open }) {
      const s = await open();
      await s.add("a", "integer", 1);
      await s.add("b", "integer", 1);
      const before = (await s.mustList()).map(plainRecord);
      const set = mustFail(
        await s.set("a", 2, undefined, { expectedVersion: 1 }),
        "unsupported",
        "set with an expectedVersion",
      );
      assert.equal(typeof set.operation, "string", "unsupported names the operation");
      mustFail(
        await s.update({ a: 2, b: 2 }, undefined, { expectedVersions: { a: 1 } }),
        "unsupported",
        "updateVariables with expectedVersions",
      );
      assert.deepStrictEqual((await s.mustList()).map(plainRecord), before, "state changed");
      // Without an expectation, writes work as ever.
      assert.equal(must(await s.set("a", 2), "set").version, 2);
    },
  },
  {
    name: "[without streaming] subscribe is absent or answers unsupported, and writes still work",
    unless: "streaming",
    async run({ provider, open }) {
      const s = await open();
      await s.add("x", "integer", 1);
      if (provider.subscribe === undefined) {
        assert.equal(provider.unsubscribe, undefined, "unsubscribe without subscribe");
        return;
      }
      let heard = 0;
      mustFail(
        await provider.subscribe(s.state, "*", () => void heard++),
        "unsupported",
        "subscribe without streaming",
      );
      must(await s.set("x", 2), "set after a refused subscribe");
      assert.equal(heard, 0, "a refused subscription heard an event");
    },
  },
];
