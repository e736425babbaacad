import {
  err,
  type Identifier,
  ok,
  type Result,
  StateErrors,
  type VariableVersion,
} from "@dspex/state-provider";
import { versionOf } from "@dspex/state-provider/backend";
import { decodeRecord } from "./codec.js";
import type { SessionKeys } from "./keys.js";
import type { Link } from "./link.js";
import { runScript } from "./runner.js";
import { HISTORY } from "./scripts.js";

/*
 * A variable's history is what the change feed still holds of it: from its latest entry (the
 * hash's `c:<id>`), each entry links the variable's previous one (`pv`), so reading N versions
 * reads N entries whatever else the session wrote. The commit leaves the link empty where a
 * history starts: a registration, and an import (a document carries no history, as in
 * LocalState); a deletion drops `c:<id>`, so an id an import brings back starts afresh; a
 * trimmed entry ends the walk. A session created anew starts a new stream (its old entries are
 * deleted); after Redis lost its last writes the stream holds the commits that replaced them, so
 * the versions answered are the ones Redis holds now, never the lost ones.
 */

/** Entries one script call reads at most: a long walk is several short calls, not one long one. */
export const HISTORY_READS_PER_CALL = 1000;

export interface HistoryRead {
  readonly link: Link;
  readonly keys: SessionKeys;
  readonly sessionId: string;
  /** Versions to answer at most, the current one included. */
  readonly wanted: number;
  readonly deadline: number;
}

/** The retained versions of `identifier` (id first, then name), newest first. */
export async function readHistory(
  identifier: Identifier,
  { link, keys, sessionId, wanted, deadline }: HistoryRead,
): Promise<Result<VariableVersion[]>> {
  let current = "";
  const found: string[] = [];
  let epoch = "";
  let last = "";
  let lastRequest = "";
  do {
    const read = await runScript(
      link,
      HISTORY,
      [keys.hash, keys.feed],
      [
        identifier,
        String(Math.min(wanted - found.length, Number.MAX_SAFE_INTEGER)),
        String(HISTORY_READS_PER_CALL),
        last,
        epoch,
        lastRequest,
      ],
      { deadline, what: `getVariableHistory of ${identifier}`, write: false },
    );
    if (!read.ok) return read;
    if (read.value === 0) return err(StateErrors.sessionNotFound(sessionId));
    if (read.value === null) return err(StateErrors.notFound(identifier));
    const [readEpoch, next, nextRequest, readCurrent, ...records] = read.value as string[];
    if (last === "") {
      current = readCurrent as string;
      epoch = readEpoch as string;
    }
    found.push(...records);
    last = next as string;
    lastRequest = nextRequest as string;
  } while (last !== "" && found.length < wanted);
  return ok(lineOfVersions(current, found, wanted).map(versionOf));
}

/**
 * The current record, then the records the walk read after its own entry, each the version just
 * before the last one taken: a gap is never answered as history.
 */
function lineOfVersions(current: string, found: readonly string[], wanted: number) {
  let previous = decodeRecord(current);
  const line = [previous];
  if (found[0] !== current) return line;
  for (let i = 1; i < found.length && line.length < wanted; i++) {
    const record = decodeRecord(found[i] as string);
    if (record.version !== previous.version - 1) break;
    line.push(record);
    previous = record;
  }
  return line;
}
