/*
 * Batch maps are keyed by variable identifiers, and valid names include Object.prototype members
 * (`constructor`, `toString`, `__proto__`): read and write those maps by own keys only.
 */

/** The value stored under `key` itself, never one inherited from Object.prototype. */
export function own<T>(
  record: Readonly<Record<string, T>> | undefined,
  key: string,
): T | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}

/** Sets `key` as an own enumerable property (plain assignment to `__proto__` sets the prototype). */
export function define<T>(target: Record<string, T>, key: string, value: T): void {
  if (key === "__proto__") {
    Object.defineProperty(target, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    target[key] = value;
  }
}
