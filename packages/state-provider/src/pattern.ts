/**
 * Glob patterns over variable names: `*` matches any run of characters (also none), `?` exactly
 * one; every other character is literal, so a pattern can never inject a regular expression.
 * Matching is anchored: `temp*` matches `temperature`, not `my_temperature`.
 *
 * No backtracking: the pieces between stars are placed leftmost, each once, so a match costs at
 * most O(name × pattern) character comparisons whatever the input (a backtracking regex took
 * seconds for `*a*a*a*b` against a long name of `a`s).
 */
export type NameMatcher = (name: string) => boolean;

const matchAll: NameMatcher = () => true;
/** `?` inside a piece: no code point equals it. */
const ANY = -1;

export function compilePattern(pattern: string): NameMatcher {
  if (pattern === "*") return matchAll;
  if (!/[*?]/.test(pattern)) return (name) => name === pattern;
  const pieces = pattern.split("*").map(piecesOf);
  const first = pieces[0] ?? [];
  if (pieces.length === 1) {
    return (name) => {
      const text = codePointsOf(name);
      return text.length === first.length && pieceAt(first, text, 0);
    };
  }
  const last = pieces[pieces.length - 1] ?? [];
  const middle = pieces.slice(1, -1).filter((piece) => piece.length > 0);
  return (name) => {
    const text = codePointsOf(name);
    const end = text.length - last.length;
    if (end < first.length || !pieceAt(first, text, 0) || !pieceAt(last, text, end)) return false;
    // Leftmost placement is always right for globs: a later star can absorb whatever it skipped.
    let from = first.length;
    for (const piece of middle) {
      const at = indexOfPiece(piece, text, from, end);
      if (at < 0) return false;
      from = at + piece.length;
    }
    return true;
  };
}

export function matchesPattern(pattern: string, name: string): boolean {
  return compilePattern(pattern)(name);
}

/** Code points, so `?` matches one whole character even outside the BMP. */
function codePointsOf(text: string): number[] {
  const out: number[] = [];
  for (const char of text) out.push(char.codePointAt(0) as number);
  return out;
}

function piecesOf(text: string): number[] {
  return codePointsOf(text).map((point) => (point === 0x3f ? ANY : point));
}

function pieceAt(piece: readonly number[], text: readonly number[], at: number): boolean {
  for (let i = 0; i < piece.length; i++) {
    const want = piece[i];
    if (want !== ANY && want !== text[at + i]) return false;
  }
  return true;
}

/** The first position in [from, end - piece.length] where the piece fits, or -1. */
function indexOfPiece(
  piece: readonly number[],
  text: readonly number[],
  from: number,
  end: number,
): number {
  for (let at = from; at + piece.length <= end; at++) if (pieceAt(piece, text, at)) return at;
  return -1;
}
