import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compilePattern, matchesPattern } from "../src/index.js";

/** The cases the Python suite checks against the server too (one table for both languages). */
const shared = JSON.parse(
  readFileSync(new URL("./fixtures/glob-cases.json", import.meta.url), "utf8"),
) as { cases: Array<{ pattern: string; match: string[]; noMatch: string[] }> };

describe("glob patterns over names", () => {
  const cases: Array<[string, string[], string[]]> = [
    ["*", ["temperature", "", "a.b"], []],
    ["temp*", ["temperature", "temp", "temp_2"], ["my_temp", "tem", "Temperature"]],
    ["*_tokens", ["max_tokens", "_tokens"], ["max_tokens_x"]],
    ["var?", ["var1", "varx"], ["var", "var12"]],
    ["a?c*", ["abc", "abcdef"], ["ac", "xabc"]],
    ["exact", ["exact"], ["exactly", "xexact"]],
  ];
  for (const [pattern, yes, no] of cases) {
    it(`${pattern} is anchored and matches exactly what it should`, () => {
      const matches = compilePattern(pattern);
      for (const name of yes) expect(matches(name), name).toBe(true);
      for (const name of no) expect(matches(name), name).toBe(false);
    });
  }

  it("treats every other character literally (no regular expression injection)", () => {
    expect(matchesPattern("a.c", "abc")).toBe(false);
    expect(matchesPattern("a.c", "a.c")).toBe(true);
    expect(matchesPattern("(a|b)*", "a")).toBe(false);
    expect(matchesPattern("(a|b)*", "(a|b)x")).toBe(true);
    expect(matchesPattern("x+", "xx")).toBe(false);
    expect(matchesPattern("[ab]?", "[ab]c")).toBe(true);
    expect(matchesPattern("^a$", "^a$")).toBe(true);
    expect(matchesPattern("a\\d*", "a\\d1")).toBe(true);
    expect(matchesPattern("a\\d*", "a1")).toBe(false);
  });

  it("lets ? match one whole character, even outside the BMP", () => {
    expect(matchesPattern("x?", "x😀")).toBe(true);
    expect(matchesPattern("x??", "x😀")).toBe(false);
    expect(matchesPattern("*😀?", "a😀b")).toBe(true);
  });

  for (const { pattern, match, noMatch } of shared.cases) {
    it(`shared case ${pattern}`, () => {
      const matches = compilePattern(pattern);
      for (const name of match) expect(matches(name), name).toBe(true);
      for (const name of noMatch) expect(matches(name), name).toBe(false);
    });
  }

  it("takes no exponential time on hostile patterns (no backtracking)", () => {
    // A backtracking regex took about 1.8 s for this one pair.
    const name = `${"a".repeat(255)}1`;
    const hostile = [
      "*a*a*a*b",
      "*a*a*a*a*a*a*a*a*a*a*a*a*b",
      `${"*a".repeat(500)}*b`,
      "*?*?*?*?*?*b",
    ];
    const started = performance.now();
    for (const pattern of hostile) {
      const matches = compilePattern(pattern);
      for (let i = 0; i < 100; i++) expect(matches(name)).toBe(false);
    }
    expect(performance.now() - started).toBeLessThan(500);
  });
});
