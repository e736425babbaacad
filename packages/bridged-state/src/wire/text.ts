/*
 * Text from wire bytes, fast for what the wire mostly carries: short ASCII (names, values such
 * as "0.7") and the same long strings again and again (type URLs).
 */

/** Up to this many bytes, text is read by a loop. */
const SHORT_TEXT = 24;

/** `bytes[from, to)` as a string when it is short ASCII (undefined otherwise). */
export function shortAscii(bytes: Uint8Array, from: number, to: number): string | undefined {
  if (to - from > SHORT_TEXT) return undefined;
  let text = "";
  for (let i = from; i < to; i++) {
    const byte = bytes[i] as number;
    if (byte >= 0x80) return undefined;
    text += String.fromCharCode(byte);
  }
  return text;
}

/** The last longer string decoded, by length: a batch repeats its type URLs item after item. */
const recentStrings = new Map<number, string>();
const RECENT_STRING_BYTES = 128;

/**
 * `bytes[from, to)` as UTF-8. Short ASCII is read by a loop (a tenth of `toString`'s cost), and a
 * longer string equal to the last one of its length is that string again: no new string, and a
 * Map lookup by it finds its hash already computed.
 */
export function decodeUtf8(bytes: Buffer, from: number, to: number): string {
  const length = to - from;
  if (length <= SHORT_TEXT) return shortAscii(bytes, from, to) ?? bytes.toString("utf8", from, to);
  if (length > RECENT_STRING_BYTES) {
    return bytes.toString("utf8", from, to);
  }
  const recent = recentStrings.get(length);
  if (recent !== undefined && recent.length === length) {
    let i = 0;
    while (i < length && recent.charCodeAt(i) === bytes[from + i]) i++;
    if (i === length) return recent;
  }
  const text = bytes.toString("utf8", from, to);
  recentStrings.set(length, text);
  return text;
}
