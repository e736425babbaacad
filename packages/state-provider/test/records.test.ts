import { describe, expect, it } from "vitest";
import { eventOf, type VariableRecord, writtenRecord } from "../src/index.js";

const record: VariableRecord = Object.freeze({
  id: "var_1",
  name: "temperature",
  type: "float",
  value: 0.7,
  constraints: { min: 0, max: 2 },
  metadata: { owner: "ts", stage: "draft" },
  version: 4,
  createdAt: 1000,
  updatedAt: 2000,
  source: "python",
});

describe("writtenRecord and eventOf", () => {
  it("moves the version by one, merges metadata, stamps the time and the writer", () => {
    const next = writtenRecord(record, 0.9, { stage: "tuned" }, 3000);
    expect(next).toEqual({
      ...record,
      value: 0.9,
      metadata: { owner: "ts", stage: "tuned" },
      version: 5,
      updatedAt: 3000,
      source: "typescript",
    });
    expect(Object.isFrozen(next)).toBe(true);
    expect(record.version).toBe(4);
  });

  it("takes the source from the write's metadata", () => {
    expect(writtenRecord(record, 1, { source: "python" }).source).toBe("python");
  });

  it("builds the event a committed change sends", () => {
    expect(eventOf("updated", record, 0.5)).toEqual({
      kind: "updated",
      id: "var_1",
      name: "temperature",
      type: "float",
      value: 0.7,
      previousValue: 0.5,
      version: 4,
      metadata: { owner: "ts", stage: "draft" },
      source: "python",
      timestamp: 2000,
      record,
    });
  });

  it("carries the committed record itself, so a watcher needs no second read", () => {
    const event = eventOf("deleted", record, record.value, 3000);
    expect(event.record).toBe(record);
    expect(event.timestamp).toBe(3000);
  });
});
