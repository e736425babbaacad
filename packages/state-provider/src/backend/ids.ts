import type { VariableId } from "../contract.js";

// Ids are opaque: a process-wide counter keeps them short and distinct across sessions and
// backends; the random tag keeps ids of different processes apart when one's export is merged
// into another's session (an import replaces the variable with the same id).
let counter = 0;
const processTag = globalThis.crypto.randomUUID().slice(0, 6);

/**
 * A new variable id. `taken` says whether an id (or a name: ids resolve before names, so an id
 * equal to an existing name would hide that variable) is in use in the session; imported ids
 * are kept, so a generated one may collide and is skipped.
 */
export function newVariableId(taken: (candidate: string) => boolean): VariableId {
  let id: string;
  do id = flat(`var_${(++counter).toString(36)}_${processTag}`);
  while (taken(id));
  return id;
}

let tables = 0;

/**
 * The tag of a new VariableTable's ids: this process's tag and the table's number in the
 * process, so ids of different tables and processes differ while each table counts its own.
 */
export function newTableTag(): string {
  return `${processTag}${(tables++).toString(36)}`;
}

/** Id number `n` of the table tagged `tag`: `var_<n in base 36>_<tag>`. */
export function tableVariableId(n: number, tag: string): VariableId {
  return flat(`var_${n.toString(36)}_${tag}`);
}

/**
 * The number `n` of an id of the table tagged `tag`, or NaN when it has another form (the
 * caller compares the id of the record it finds: "var_01_…" reads as 1 too).
 */
export function tableIdNumber(id: string, tag: string): number {
  // By hand, without slice or parseInt: every write of a table looks up its record's slot.
  const end = id.length - tag.length - 1;
  if (end <= 4 || id.charCodeAt(end) !== UNDERSCORE || !id.startsWith("var_") || !id.endsWith(tag))
    return Number.NaN;
  let n = 0;
  for (let i = 4; i < end; i++) {
    const c = id.charCodeAt(i);
    const digit = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 122 ? c - 87 : -1;
    if (digit < 0) return Number.NaN;
    n = n * 36 + digit;
  }
  return n;
}

const UNDERSCORE = 95;

/**
 * The same text as one flat string: V8 keeps a concatenation of 13 or more characters as a
 * rope of its parts, which a table of ids holds for as long as the variable lives (about 30 B
 * more per variable). JSON.parse of a string literal builds a flat one.
 */
function flat(text: string): string {
  return JSON.parse(`"${text}"`) as string;
}
