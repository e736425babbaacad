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
 * A variable's history is what the change feed still holds of it: the current record, then the
 * records of the retained stream entries of its id, newest first. It stops where the variable's
 * line of versions stops: at its registration, at an import (a document carries no history, as
 * in LocalState), before a deletion of its id (an import may bring the id back), and where the
 * feed was trimmed. A session created anew starts a new stream (its old entries are deleted);
 * after Redis lost its last writes, the stream holds the commits that replaced them, so the
 * versions answered are the ones Redis holds now, never the lost ones.
 */

/**
 * Stream entries one script call scans at most: a variable written rarely in a busy session
 * costs several short calls rather than one long one that blocks Redis.
 */
export const HISTORY_SCAN_PER_CALL = 1000;

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
  let prefix = "";
  let cursor = "";
  let cursorRequest = "";
  do {
    const read = await runScript(
      link,
      HISTORY,
      [keys.hash, keys.feed],
      [
        identifier,
        String(Math.min(wanted - found.length, Number.MAX_SAFE_INTEGER)),
        String(HISTORY_SCAN_PER_CALL),
        cursor,
        epoch,
        prefix,
        cursorRequest,
      ],
      { deadline, what: `getVariableHistory of ${identifier}`, write: false },
    );
    if (!read.ok) return read;
    if (read.value === 0) return err(StateErrors.sessionNotFound(sessionId));
    if (read.value === null) return err(StateErrors.notFound(identifier));
    const [readEpoch, next, nextRequest, readPrefix, readCurrent, ...records] =
      read.value as string[];
    if (cursor === "") {
      current = readCurrent as string;
      epoch = readEpoch as string;
      prefix = readPrefix as string;
    }
    found.push(...records);
    cursor = next as string;
    cursorRequest = nextRequest as string;
  } while (cursor !== "" && found.length < wanted);
  return ok(lineOfVersions(current, found, wanted).map(versionOf));
}

/**
 * The current record and, after it, the feed's records of its id as long as each is the version
 * just before the last one taken. The first entry found must be the current record's own.
 */
function lineOfVersions(current: string, found: readonly string[], wanted: number) {
  let previous = decodeRecord(current);
  const line = [previous];
  if (found[0] !== current) return line;
  for (let i = 1; i < found.length && line.length < wanted; i++) {
    const record = decodeRecord(found[i] as string);
    // Entries written before imports were marked: an import shows as a jump in versions.
    if (record.version !== previous.version - 1) break;
    line.push(record);
    previous = record;
  }
  return line;
}
