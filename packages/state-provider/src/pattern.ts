/**
 * Glob patterns over variable names: `*` matches any run of characters (also none), `?` exactly
 * one; every other character is literal, so a pattern can never inject a regular expression.
 * Matching is anchored: `temp*` matches `temperature`, not `my_temperature`.
 */
export type NameMatcher = (name: string) => boolean;

const matchAll: NameMatcher = () => true;

export function compilePattern(pattern: string): NameMatcher {
  if (pattern === "*") return matchAll;
  if (!/[*?]/.test(pattern)) return (name) => name === pattern;
  let source = "^";
  for (const char of pattern) {
    if (char === "*") source += "[\\s\\S]*";
    else if (char === "?") source += "[\\s\\S]";
    else source += char.replace(/[\\^$.|+()[\]{}*?/]/g, "\\$&");
  }
  const regex = new RegExp(`${source}$`, "u");
  return (name) => regex.test(name);
}

export function matchesPattern(pattern: string, name: string): boolean {
  return compilePattern(pattern)(name);
}
