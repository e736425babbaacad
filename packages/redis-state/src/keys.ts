/*
 * Every key of a session carries the hash tag `{s:<escaped id>}`, so a session lives in one hash
 * slot and a script that touches all of its keys never hits CROSSSLOT on a Cluster. Ids may hold
 * braces, which would end the tag early: `%`, `{` and `}` are percent-encoded.
 */

/** The keys (and the doorbell channel) of one session. */
export interface SessionKeys {
  /** Hash: the session's fields and, per variable, its record, revision, order and name. */
  readonly hash: string;
  /** Stream: the change feed, one entry per change, ids `<commit>-<index>`. */
  readonly feed: string;
  /** Sharded pub/sub channel rung after every commit. */
  readonly bell: string;
  /** Sorted set: caller request id → the commit that applied it, for the retained commits. */
  readonly requests: string;
}

export function escapeSessionId(sessionId: string): string {
  return sessionId.replace(/[%{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function sessionKeys(prefix: string, sessionId: string): SessionKeys {
  const tag = `${prefix}{s:${escapeSessionId(sessionId)}}`;
  return {
    hash: `${tag}:h`,
    feed: `${tag}:feed`,
    bell: `${tag}:bell`,
    requests: `${tag}:rq`,
  };
}

/** The SCAN pattern of every session hash under `prefix` (glob characters in it escaped). */
export function sessionHashPattern(prefix: string): string {
  return `${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}{s:*}:h`;
}

/** The session id a session hash key holds; undefined for a key that is not one. */
export function sessionIdOfHashKey(prefix: string, key: string): string | undefined {
  const head = `${prefix}{s:`;
  if (!key.startsWith(head) || !key.endsWith("}:h")) return undefined;
  const escaped = key.slice(head.length, -3);
  if (/[{}]/.test(escaped)) return undefined;
  return escaped.replace(/%(25|7B|7D)/g, (_, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16)),
  );
}
