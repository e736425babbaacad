import { describeValue, err, ok, type Result, StateErrors } from "@dspex/state-provider";

/*
 * A change's position in a session's feed, as events carry it: `<epoch>:<commit>-<index>:<q>`,
 * the session's epoch, the stream entry's id and the first characters of its commit's request
 * id. Unique per change and ordered within an epoch; the request id tells a commit from another
 * that reused its number after Redis lost its last writes.
 */

/** Characters of the commit's request id a cursor carries. */
const REQUEST_PREFIX = 8;

export interface FeedCursor {
  readonly epoch: string;
  readonly commit: number;
  readonly index: number;
  /** The stream entry's id, `<commit>-<index>`. */
  readonly entry: string;
  readonly request: string;
}

export function formatCursor(epoch: string, entry: string, request: string): string {
  return `${epoch}:${entry}:${request.slice(0, REQUEST_PREFIX)}`;
}

const CURSOR = /^([^:]+):(\d{1,15})-(\d{1,15}):([^:]{1,8})$/;

export function parseCursor(text: unknown): Result<FeedCursor> {
  const match = typeof text === "string" ? CURSOR.exec(text) : null;
  if (match === null) {
    return err(
      StateErrors.invalidArgument(
        `expected a change-feed cursor (an event's cursor, "<epoch>:<commit>-<index>:<request>"), got ${describeValue(text)}`,
      ),
    );
  }
  const [, epoch, commit, index, request] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
  ];
  return ok({
    epoch,
    commit: Number(commit),
    index: Number(index),
    entry: `${commit}-${index}`,
    request,
  });
}
