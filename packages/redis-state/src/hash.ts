import type { VariableRecord } from "@dspex/state-provider";
import { decodeRecord } from "./codec.js";

/** A session's hash as read by HGETALL: its fields and its records in registration order. */
export interface SessionHash {
  readonly epoch: string;
  readonly seq: number;
  readonly metadata: string;
  /** The request id of the last commit (`lq`), '' before the first. */
  readonly lastRequest: string;
  /** In registration order, each with its stored JSON. */
  readonly records: readonly { readonly record: VariableRecord; readonly stored: string }[];
}

/** Parses HGETALL's flat reply; undefined when the session does not exist. */
export function parseSessionHash(flat: unknown): SessionHash | undefined {
  const fields = flat as string[];
  if (!Array.isArray(fields) || fields.length === 0) return undefined;
  let epoch = "";
  let seq = 0;
  let metadata = "{}";
  let lastRequest = "";
  const blobs = new Map<string, string>();
  const orders = new Map<string, number>();
  for (let i = 0; i < fields.length; i += 2) {
    const field = fields[i] as string;
    const value = fields[i + 1] as string;
    if (field.startsWith("r:")) blobs.set(field.slice(2), value);
    else if (field.startsWith("o:")) orders.set(field.slice(2), Number(value));
    else if (field === "epoch") epoch = value;
    else if (field === "seq") seq = Number(value);
    else if (field === "metadata") metadata = value;
    else if (field === "lq") lastRequest = value;
  }
  if (epoch === "") return undefined;
  const ids = [...blobs.keys()].sort((a, b) => (orders.get(a) ?? 0) - (orders.get(b) ?? 0));
  return {
    epoch,
    seq,
    metadata,
    lastRequest,
    records: ids.map((id) => {
      const stored = blobs.get(id) as string;
      return { record: decodeRecord(stored), stored };
    }),
  };
}
