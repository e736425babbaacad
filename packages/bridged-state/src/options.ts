/** Node turns a timer delay above this into 1 ms, so timer options must stay below it. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Checks a numeric option (a programmer's choice, so a bad one throws a TypeError naming it):
 * positive, or non-negative with `allowZero`, and at most `max`. Answers `fallback` when unset.
 */
export function numberOption(
  owner: string,
  name: string,
  value: number | undefined,
  fallback: number,
  { allowZero = false, max = Number.POSITIVE_INFINITY }: { allowZero?: boolean; max?: number } = {},
): number {
  if (value === undefined) return fallback;
  if (
    typeof value !== "number" ||
    Number.isNaN(value) ||
    value < 0 ||
    (value === 0 && !allowZero) ||
    value > max
  ) {
    const range = max === Number.POSITIVE_INFINITY ? "" : ` at most ${max}`;
    throw new TypeError(
      `${owner}: ${name} must be a ${allowZero ? "non-negative" : "positive"} number${range}, got ${String(value)}`,
    );
  }
  return value;
}
