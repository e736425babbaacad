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

/**
 * The same text as one flat string: V8 keeps a concatenation of 13 or more characters as a
 * rope of its parts, which a table of ids holds for as long as the variable lives (about 30 B
 * more per variable). JSON.parse of a string literal builds a flat one.
 */
function flat(text: string): string {
  return JSON.parse(`"${text}"`) as string;
}
