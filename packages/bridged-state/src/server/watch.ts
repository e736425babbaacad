import {
  compilePattern,
  describeValue,
  encodeValueJson,
  type StateError,
  StateErrors,
  typeUrlFor,
  type VariableEvent,
  type VariableRecord,
} from "@dspex/state-provider";
import * as grpc from "@grpc/grpc-js";
import type { BridgeStore } from "../store/bridge-store.js";
import { toTimestamp, toWireVariable } from "../wire/codec.js";
import type { VariableUpdate__Input } from "../wire/generated/snakepit/bridge/VariableUpdate.js";
import type { WatchVariablesRequest__Output } from "../wire/generated/snakepit/bridge/WatchVariablesRequest.js";
import { toStatus } from "../wire/status.js";
import type { RequestLimits } from "./request-guard.js";

export interface WatchOptions {
  readonly heartbeatMs: number;
  /** Each open watch stream registers its `end` here so shutdown (or a lost store) can end it. */
  readonly watchers: Set<(status?: Partial<grpc.StatusObject>) => void>;
  readonly limits: RequestLimits;
  /** Open watch streams per session and per client connection (peer address), for the limits. */
  readonly watchersBySession: Map<string, number>;
  readonly streamsByConnection: Map<string, number>;
}

function heartbeatMessage(): VariableUpdate__Input {
  return { variable_id: "", update_type: "heartbeat", timestamp: toTimestamp(Date.now()) };
}

const UPDATE_TYPE: Readonly<Record<VariableEvent["kind"], string>> = {
  registered: "registered",
  updated: "value_change",
  deleted: "deleted",
};

/**
 * One WatchVariables stream. The store's watch starts before any snapshot is read, so no change
 * falls between the two; changes heard while the snapshot is read wait and follow it (those it
 * already shows are dropped). With `resume_after` honoured by the store, there is no snapshot:
 * a "resumed" message, then exactly the changes after the cursor.
 */
export async function watch(
  store: BridgeStore,
  call: grpc.ServerWritableStream<WatchVariablesRequest__Output, VariableUpdate__Input>,
  options: WatchOptions,
): Promise<void> {
  const {
    session_id,
    variable_identifiers,
    include_initial_values,
    pattern,
    prefer_binary,
    resume_after,
  } = call.request;
  const wanted = new Set(variable_identifiers);
  const byPattern = pattern === "" ? undefined : compilePattern(pattern);
  const everything = wanted.size === 0 && byPattern === undefined;
  const matches = (id: string, name: string) =>
    everything || wanted.has(id) || wanted.has(name) || (byPattern?.(name) ?? false);

  const overLimit = watchLimitReached(call.getPeer(), session_id, options);
  if (overLimit !== undefined) {
    call.emit("error", toStatus(overLimit));
    return;
  }
  // Taken before the first await, so concurrent opens count against the limits too.
  const releaseSlot = takeWatchSlot(call.getPeer(), session_id, options);
  let ended = false;
  const updateOf = (event: VariableEvent, conflated: boolean): VariableUpdate__Input => {
    const update: VariableUpdate__Input = {
      variable_id: event.id,
      // The committed record itself: true constraints and timestamps even for a change a
      // later one in the same batch superseded, and for deletions.
      variable: toWireVariable(event.record, prefer_binary),
      update_source: event.source,
      update_metadata: event.metadata,
      timestamp: toTimestamp(event.timestamp),
      update_type: UPDATE_TYPE[event.kind],
    };
    if (event.cursor !== undefined) update.cursor = event.cursor;
    if (conflated) update.conflated = true;
    else if (event.previousValue !== undefined) {
      update.previous_value = {
        type_url: typeUrlFor(event.type),
        value: Buffer.from(encodeValueJson(event.type, event.previousValue), "utf8"),
      };
    }
    return update;
  };
  /*
   * Backpressure: messages written but not yet taken by the connection are counted in bytes.
   * Past maxWatchBufferBytes, changes wait in `behind`, one entry per variable (its latest
   * event), and go out marked conflated once the buffer is down to half. A watcher that does not
   * read thus holds that many bytes (plus one message) and one pending event per variable of the
   * session, however many changes happen. `behind` stays in order of each variable's latest
   * change, so the cursors sent stay increasing.
   */
  const maxBuffered = options.limits.maxWatchBufferBytes;
  const behind = new Map<string, VariableEvent>();
  let buffered = 0;
  const send = (update: VariableUpdate__Input) => {
    const size = approximateBytes(update);
    buffered += size;
    call.write(update, () => {
      buffered -= size;
      if (behind.size > 0 && buffered <= maxBuffered / 2) catchUp();
    });
  };
  const catchUp = () => {
    for (const [id, event] of behind) {
      if (buffered > maxBuffered || ended) return;
      behind.delete(id);
      send(updateOf(event, true));
    }
  };
  const deliver = (event: VariableEvent) => {
    if (ended || !matches(event.id, event.name)) return;
    if (buffered <= maxBuffered && behind.size === 0) return send(updateOf(event, false));
    // A variable registered while behind stays "registered" to the watcher until it hears of it.
    const pending = behind.get(event.id);
    behind.delete(event.id);
    behind.set(
      event.id,
      pending?.kind === "registered" && event.kind === "updated"
        ? { ...event, kind: "registered" }
        : event,
    );
  };
  /** Changes heard before the stream's first messages went out; undefined once they did. */
  let held: VariableEvent[] | undefined = [];
  let resumed = false;
  const watched = await store.watch(
    session_id,
    {
      begin(honoured) {
        resumed = honoured;
      },
      change(event) {
        if (held !== undefined) held.push(event);
        else deliver(event);
      },
      end: () => end(),
    },
    resume_after === "" ? {} : { after: resume_after },
  );
  if (!watched.ok) {
    releaseSlot();
    call.emit("error", toStatus(watched.error));
    return;
  }
  let heartbeat: NodeJS.Timeout | undefined;
  function stop(): void {
    if (ended) return;
    ended = true;
    releaseSlot();
    if (watched.ok) watched.value.close();
    if (heartbeat !== undefined) clearInterval(heartbeat);
    behind.clear();
    held = undefined;
    options.watchers.delete(end);
  }
  /** Ends the stream: OK when the session ended, the given status otherwise. */
  function end(status?: Partial<grpc.StatusObject>): void {
    if (ended) return;
    stop();
    if (status === undefined) call.end();
    else call.emit("error", status);
  }
  if (call.cancelled) return stop();
  options.watchers.add(end);
  call.on("cancelled", stop);
  call.on("error", stop);
  if (!resumed && include_initial_values) {
    // Read before the headers go out: whatever commits after them is newer than the snapshot,
    // so the watcher hears it as a change; what committed before them is in its snapshot.
    const listed = await store.list(session_id);
    if (ended) return;
    if (!listed.ok) return end(toStatus(listed.error));
    call.sendMetadata(new grpc.Metadata());
    sendSnapshot(listed.value);
  } else {
    // Headers go out once the store's watch exists: a client may take them as "watching now".
    call.sendMetadata(new grpc.Metadata());
    if (resumed) {
      send({
        variable_id: "",
        update_type: "resumed",
        cursor: resume_after,
        timestamp: toTimestamp(Date.now()),
      });
    }
    const waiting = held ?? [];
    held = undefined;
    for (const event of waiting) deliver(event);
  }
  heartbeat = setInterval(() => {
    // A connected watcher is a use of the session: it keeps an otherwise idle session alive.
    void store.touch(session_id).then((touched) => {
      if (!touched.ok && touched.error.code === "session_not_found") end();
    });
    // A watcher that is behind gets no heartbeats on top: the catch-up follows on 'drain'.
    if (buffered <= maxBuffered) send(heartbeatMessage());
  }, options.heartbeatMs);
  heartbeat.unref();

  function sendSnapshot(records: readonly VariableRecord[]): void {
    const shown = new Map<string, number>();
    for (const record of records) {
      if (!matches(record.id, record.name)) continue;
      shown.set(record.id, record.version);
      // The snapshot is written whole (one message per variable, bounded by the session).
      send({
        variable_id: record.id,
        variable: toWireVariable(record, prefer_binary),
        update_source: record.source,
        update_metadata: record.metadata,
        timestamp: toTimestamp(Date.now()),
        update_type: "initial_value",
      });
    }
    // One heartbeat right after the snapshot marks its end: a re-connecting client then knows
    // which variables are gone without waiting a whole heartbeat interval.
    send(heartbeatMessage());
    const waiting = held ?? [];
    held = undefined;
    // Of a variable the snapshot does not show, a deletion heard means it was gone before (or
    // came and went during) the read: nothing to tell.
    const gone = new Set(
      waiting.filter((e) => e.kind === "deleted" && !shown.has(e.id)).map((e) => e.id),
    );
    for (const event of waiting) {
      const version = shown.get(event.id);
      if (
        version === undefined
          ? gone.has(event.id)
          : event.kind !== "deleted" && event.version <= version
      ) {
        continue; // the snapshot already shows this state
      }
      deliver(event);
    }
  }
}
/** The limit an extra watch stream on this session or connection would break, if any. */
function watchLimitReached(
  peer: string,
  sessionId: string,
  options: WatchOptions,
): StateError | undefined {
  const { maxWatchersPerSession, maxStreamsPerConnection } = options.limits;
  const onSession = options.watchersBySession.get(sessionId) ?? 0;
  if (onSession >= maxWatchersPerSession) {
    return StateErrors.limitExceeded(
      "maxWatchersPerSession",
      maxWatchersPerSession,
      `session ${describeValue(sessionId)} already has ${onSession} open watch streams`,
    );
  }
  const onConnection = options.streamsByConnection.get(peer) ?? 0;
  if (onConnection >= maxStreamsPerConnection) {
    return StateErrors.limitExceeded(
      "maxStreamsPerConnection",
      maxStreamsPerConnection,
      `this connection already has ${onConnection} open watch streams`,
    );
  }
  return undefined;
}

/** Counts an open watch stream; the answer gives the slot back (once). */
function takeWatchSlot(peer: string, sessionId: string, options: WatchOptions): () => void {
  const add = (map: Map<string, number>, key: string, delta: number) => {
    const next = (map.get(key) ?? 0) + delta;
    if (next <= 0) map.delete(key);
    else map.set(key, next);
  };
  add(options.watchersBySession, sessionId, 1);
  add(options.streamsByConnection, peer, 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    add(options.watchersBySession, sessionId, -1);
    add(options.streamsByConnection, peer, -1);
  };
}

/** Roughly the bytes a watch message takes on the wire: its value payloads and some framing. */
function approximateBytes(update: VariableUpdate__Input): number {
  const variable = update.variable as
    | { value?: { value?: Uint8Array }; binary_value?: Uint8Array }
    | undefined;
  const previous = update.previous_value as { value?: Uint8Array } | undefined;
  return (
    256 +
    (variable?.value?.value?.byteLength ?? 0) +
    (variable?.binary_value?.byteLength ?? 0) +
    (previous?.value?.byteLength ?? 0)
  );
}
