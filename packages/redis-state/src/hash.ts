import type { VariableRecord } from "@dspex/state-provider";
import { decodeRecord } from "./codec.js";

/** A session's hash as read by HGETALL: its fields and its records in registration order. */
export interface SessionHash {
  readonly epoch: string;
  readonly seq: number;
  readonly metadata: string;
  /** In registration order, each with the commit that last wrote it. */
  readonly records: readonly { readonly record: VariableRecord; readonly rev: string }[];
}

/** Parses HGETALL's flat reply; undefined when the session does not exist. */
export function parseSessionHash(flat: unknown): SessionHash | undefined {
  const fields = flat as string[];
  if (!Array.isArray(fields) || fields.length === 0) return undefined;
  let epoch = "";
  let seq = 0;
  let metadata = "{}";
  const blobs = new Map<string, string>();
  const revs = new Map<string, string>();
  const orders = new Map<string, number>();
  for (let i = 0; i < fields.length; i += 2) {
    const field = fields[i] as string;
    const value = fields[i + 1] as string;
    if (field.startsWith("r:")) blobs.set(field.slice(2), value);
    else if (field.startsWith("v:")) revs.set(field.slice(2), value);
    else if (field.startsWith("o:")) orders.set(field.slice(2), Number(value));
    else if (field === "epoch") epoch = value;
    else if (field === "seq") seq = Number(value);
    else if (field === "metadata") metadata = value;
  }
  if (epoch === "") return undefined;
  const ids = [...blobs.keys()].sort((a, b) => (orders.get(a) ?? 0) - (orders.get(b) ?? 0));
  return {
    epoch,
    seq,
    metadata,
    records: ids.map((id) => ({
      record: decodeRecord(blobs.get(id) as string),
      rev: revs.get(id) ?? "",
    })),
  };
}
