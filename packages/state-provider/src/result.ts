import type { StateError } from "./errors.js";

/** The outcome of every contract operation: a value, or a tagged error. Never thrown. */
export type Result<T, E = StateError> = Ok<T> | Err<E>;
export interface Ok<T> {
  readonly ok: true;
  readonly value: T;
}
export interface Err<E = StateError> {
  readonly ok: false;
  readonly error: E;
}

export function ok<T>(value: T): Ok<T>;
export function ok(): Ok<undefined>;
export function ok<T>(value?: T): Ok<T | undefined> {
  return { ok: true, value };
}

export function err<E = StateError>(error: E): Err<E> {
  return { ok: false, error };
}

/** Unwraps a result for code that treats an error as a bug (tests, scripts); throws the error's message. */
export function unwrap<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  const error = new Error(`${result.error.code}: ${result.error.message}`);
  (error as Error & { stateError: StateError }).stateError = result.error;
  throw error;
}
