import { describe, expect, it } from "vitest";
import { eventOf, SubscriberSet, type VariableEvent } from "../src/index.js";

function event(name: string, version = 1): VariableEvent {
  const now = Date.now();
  const record = {
    id: `id_${name}`,
    name,
    type: "float" as const,
    value: version,
    constraints: {},
    metadata: {},
    version,
    createdAt: now,
    updatedAt: now,
    source: "typescript",
  };
  return eventOf("updated", record, version - 1);
}

describe("SubscriberSet", () => {
  it("delivers to the subscribers whose pattern matches, in order", () => {
    const set = new SubscriberSet();
    const seen: string[] = [];
    set.add("temp*", (e) => seen.push(`temp:${e.name}`));
    set.add("*", (e) => seen.push(`all:${e.name}`));
    set.emit(event("temperature"));
    set.emit(event("max_tokens"));
    expect(seen).toEqual(["temp:temperature", "all:temperature", "all:max_tokens"]);
  });

  it("a subscriber added while an event is delivered gets only later events", () => {
    const set = new SubscriberSet();
    const late: number[] = [];
    set.add("*", (e) => {
      if (e.version === 1) set.add("*", (later) => late.push(later.version));
    });
    set.emit(event("x", 1));
    expect(late).toEqual([]);
    set.emit(event("x", 2));
    expect(late).toEqual([2]);
  });

  it("isolates a throwing subscriber and reports it", () => {
    const reported: unknown[] = [];
    const set = new SubscriberSet((error) => reported.push(error));
    const seen: number[] = [];
    set.add("*", () => {
      throw new Error("boom");
    });
    set.add("*", (e) => seen.push(e.version));
    expect(() => set.emit(event("x", 2))).not.toThrow();
    expect(seen).toEqual([2]);
    expect(reported).toHaveLength(1);
  });

  it("removes idempotently and stops delivery", () => {
    const set = new SubscriberSet();
    const seen: number[] = [];
    const id = set.add("*", (e) => seen.push(e.version));
    set.remove(id);
    set.remove(id);
    set.remove("sub_unknown");
    set.emit(event("x"));
    expect(seen).toEqual([]);
    expect(set.size).toBe(0);
  });
});

describe("SubscriberSet delivery order", () => {
  it("delivers a change made by a subscriber after every subscriber heard the current one", () => {
    const set = new SubscriberSet();
    const heard: string[] = [];
    set.add("*", (e) => {
      heard.push(`first:${e.version}`);
      // A subscriber that writes: the backend commits version 3 and emits it mid-delivery.
      if (e.version === 2) set.emit(event("x", 3));
    });
    set.add("*", (e) => heard.push(`second:${e.version}`));
    set.emit(event("x", 2));
    expect(heard).toEqual(["first:2", "second:2", "first:3", "second:3"]);
  });

  it("gives a subscriber added during delivery the later changes only", () => {
    const set = new SubscriberSet();
    const late: number[] = [];
    set.add("*", (e) => {
      if (e.version === 2) {
        set.add("*", (l) => late.push(l.version));
        set.emit(event("x", 3));
      }
    });
    set.emit(event("x", 2));
    expect(late).toEqual([3]);
  });
});

describe("SubscriberSet.emitAll", () => {
  it("delivers the events of one commit before a change a subscriber makes meanwhile", () => {
    const set = new SubscriberSet();
    const heard: string[] = [];
    set.add("*", (e) => {
      heard.push(`${e.name}:${e.version}`);
      if (e.name === "a" && e.version === 2) set.emit(event("c", 9));
    });
    set.emitAll([event("a", 2), event("b", 2)]);
    expect(heard).toEqual(["a:2", "b:2", "c:9"]);
  });
});

describe("SubscriberSet index by literal prefix", () => {
  it("delivers in subscription order across prefixes, wildcards and exact names", () => {
    const set = new SubscriberSet();
    const seen: string[] = [];
    for (const pattern of ["lm.temp*", "*", "lm.*", "lm.temperature", "?m.t*", "lm.temp", "x*"])
      set.add(pattern, () => seen.push(pattern));
    set.emit(event("lm.temperature"));
    expect(seen).toEqual(["lm.temp*", "*", "lm.*", "lm.temperature", "?m.t*"]);
  });

  it("matches a name shorter than some prefixes and equal to others", () => {
    const set = new SubscriberSet();
    const seen: string[] = [];
    for (const pattern of ["abcdef*", "abc", "ab*", "abc?"])
      set.add(pattern, () => seen.push(pattern));
    set.emit(event("abc"));
    expect(seen).toEqual(["abc", "ab*"]);
  });

  it("a subscriber removed by an earlier callback hears nothing more of that event", () => {
    const set = new SubscriberSet();
    const seen: string[] = [];
    let second = "";
    set.add("a*", () => {
      seen.push("first");
      set.remove(second);
    });
    second = set.add("a*", () => seen.push("second"));
    set.add("ab*", () => seen.push("third"));
    set.emit(event("abc"));
    set.emit(event("abc"));
    expect(seen).toEqual(["first", "third", "first", "third"]);
  });

  it("keeps delivering to the rest of a prefix after one of it is removed", () => {
    const set = new SubscriberSet();
    const seen: number[] = [];
    const ids = [0, 1, 2].map((i) => set.add(`p${i % 2}_*`, () => seen.push(i)));
    set.remove(ids[0]!);
    set.emit(event("p0_x"));
    set.emit(event("p1_x"));
    set.clear();
    set.emit(event("p0_x"));
    expect(seen).toEqual([2, 1]);
    expect(set.size).toBe(0);
  });
});

describe("SubscriberSet index and whole characters", () => {
  it("a prefix ending in half a surrogate pair does not match the whole character", () => {
    const set = new SubscriberSet();
    const seen: string[] = [];
    set.add("\uD83D*", (e) => seen.push(`half:${e.name}`));
    set.add("\uD83D\uDE00*", (e) => seen.push(`whole:${e.name}`));
    set.emit(event("\uD83D\uDE00x"));
    set.emit(event("\uD83Dx"));
    expect(seen).toEqual(["whole:\uD83D\uDE00x", "half:\uD83Dx"]);
  });

  it("hears a name written again after subscriptions changed", () => {
    const set = new SubscriberSet();
    const seen: string[] = [];
    set.add("a*", () => seen.push("a*"));
    set.emit(event("ab"));
    const late = set.add("ab", () => seen.push("ab"));
    set.emit(event("ab"));
    set.remove(late);
    set.emit(event("ab"));
    expect(seen).toEqual(["a*", "a*", "ab", "a*"]);
  });
});
