import { describe, expect, it } from "vitest";
import { checkHistories } from "../src/distributed/history-check.js";

/* The distributed demo's verdict rests on this check: each way a history can be wrong must
 * turn it to not ok, and name the write. */

const registered = { version: 1, write: "", source: "typescript" };
const entry = (version: number, write: string) => ({ version, write, source: "python" });

describe("checkHistories", () => {
  it("passes a history holding every acknowledged write once, consecutively", () => {
    const check = checkHistories(
      { temperature: [registered, entry(2, "w1/trial-3"), entry(3, "w2/trial-4")] },
      { temperature: 1 },
      [
        { name: "temperature", version: 2, tag: "w1/trial-3" },
        { name: "temperature", version: 3, tag: "w2/trial-4" },
      ],
    );
    expect(check.ok).toBe(true);
    expect(check).toMatchObject({ versions: 3, acknowledged: 2, confirmed: 2, lost: 0 });
    expect(check.variables[0]).toMatchObject({ first: 1, last: 3, consecutive: true });
  });

  it("finds a lost write, a write applied twice, a version nobody acknowledged and a gap", () => {
    const lost = checkHistories({ t: [registered, entry(2, "w1/trial-3")] }, { t: 1 }, [
      { name: "t", version: 2, tag: "w1/trial-3" },
      { name: "t", version: 3, tag: "w2/trial-4" },
    ]);
    expect(lost.ok).toBe(false);
    expect(lost.variables[0]!.lost).toEqual([{ name: "t", version: 3, tag: "w2/trial-4" }]);

    const twice = checkHistories(
      { t: [registered, entry(2, "w1/trial-3"), entry(3, "w1/trial-3")] },
      { t: 1 },
      [{ name: "t", version: 2, tag: "w1/trial-3" }],
    );
    expect(twice.ok).toBe(false);
    expect(twice.variables[0]!.duplicates).toEqual(["w1/trial-3"]);

    const stray = checkHistories({ t: [registered, entry(2, "w1/trial-3")] }, { t: 1 }, []);
    expect(stray.ok).toBe(false);
    expect(stray.variables[0]!.unacknowledged).toEqual([2]);

    const gap = checkHistories({ t: [registered, entry(3, "w1/trial-3")] }, { t: 1 }, [
      { name: "t", version: 3, tag: "w1/trial-3" },
    ]);
    expect(gap.ok).toBe(false);
    expect(gap.variables[0]!.consecutive).toBe(false);
  });

  it("fails a history that does not start at the version the switch moved", () => {
    const check = checkHistories({ t: [entry(3, "w1/trial-3")] }, { t: 2 }, [
      { name: "t", version: 3, tag: "w1/trial-3" },
    ]);
    expect(check.ok).toBe(false);
    expect(check.variables[0]!.startsAtSwitch).toBe(false);
  });
});
