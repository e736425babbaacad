/**
 * Every error a backend reports, as data. Codes are stable API: add codes, never rename them.
 * The constructors below are the one place that words the messages, so all backends speak alike.
 */
export const ERROR_CODES = [
  "not_found",
  "already_exists",
  "unknown_type",
  "validation_failed",
  "partial_failure",
  "version_conflict",
  "session_not_found",
  "invalid_export",
  "invalid_argument",
  "unsupported",
  "limit_exceeded",
  "unavailable",
  "unauthenticated",
  "closed",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

interface ErrorBase<C extends ErrorCode> {
  readonly code: C;
  /** A sentence for humans naming the variable, the rule and the value involved. */
  readonly message: string;
}

export interface NotFoundError extends ErrorBase<"not_found"> {
  readonly identifier: string;
}
export interface AlreadyExistsError extends ErrorBase<"already_exists"> {
  readonly identifier: string;
}
export interface UnknownTypeError extends ErrorBase<"unknown_type"> {
  readonly type: string;
}
export interface ValidationFailedError extends ErrorBase<"validation_failed"> {
  /** The variable's name (or the identifier used) when one is known. */
  readonly variable?: string;
  /** The rule that failed: `type`, a constraint key (`max`, `pattern`, ...), `constraints`, `metadata`, `name`. */
  readonly rule: string;
}
export interface PartialFailureError extends ErrorBase<"partial_failure"> {
  /** Identifier (as given) → why it failed. */
  readonly failed: Readonly<Record<string, StateError>>;
  /** Identifiers (as given) whose update was applied. Empty when nothing was applied. */
  readonly applied: readonly string[];
}
export interface VersionConflictError extends ErrorBase<"version_conflict"> {
  readonly identifier: string;
  readonly expectedVersion: number;
  readonly actualVersion: number;
}
export interface SessionNotFoundError extends ErrorBase<"session_not_found"> {
  readonly sessionId: string;
}
export interface InvalidExportError extends ErrorBase<"invalid_export"> {
  /** Path of the first problem in the document, e.g. `variables.var_1.version`. */
  readonly path: string;
}
export interface InvalidArgumentError extends ErrorBase<"invalid_argument"> {}
export interface UnsupportedError extends ErrorBase<"unsupported"> {
  readonly operation: string;
}
export interface LimitExceededError extends ErrorBase<"limit_exceeded"> {
  readonly limit: string;
  readonly max: number;
}
export interface UnavailableError extends ErrorBase<"unavailable"> {}
export interface UnauthenticatedError extends ErrorBase<"unauthenticated"> {}
export interface ClosedError extends ErrorBase<"closed"> {}

export type StateError =
  | NotFoundError
  | AlreadyExistsError
  | UnknownTypeError
  | ValidationFailedError
  | PartialFailureError
  | VersionConflictError
  | SessionNotFoundError
  | InvalidExportError
  | InvalidArgumentError
  | UnsupportedError
  | LimitExceededError
  | UnavailableError
  | UnauthenticatedError
  | ClosedError;

/** Renders a value for an error message: short, unambiguous, never throws. */
export function describeValue(value: unknown): string {
  if (typeof value === "string") {
    const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    return JSON.stringify(shown);
  }
  if (typeof value === "number") return Object.is(value, -0) ? "-0" : String(value);
  if (typeof value === "bigint") return `${value}n`;
  if (value === undefined) return "undefined";
  if (typeof value === "function") return "a function";
  if (typeof value === "symbol") return String(value);
  if (Array.isArray(value))
    return value.length > 8 ? `an array of ${value.length} items` : safeJson(value);
  if (ArrayBuffer.isView(value))
    return `a ${value.constructor.name} of ${(value as unknown as ArrayLike<unknown>).length} items`;
  return safeJson(value);
}

function safeJson(value: unknown): string {
  try {
    const text = JSON.stringify(value);
    if (text === undefined) return String(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/**
 * Quotes an identifier or session id for a message: whole up to 300 characters (every valid name
 * fits), else its start and its length, so a hostile 33 000-character identifier cannot blow up
 * error details (and a client's header limit with them).
 */
export function quoteIdentifier(text: string): string {
  // Not a string only when a caller broke the types: quoted as before.
  return typeof text !== "string" || text.length <= 300
    ? JSON.stringify(text)
    : `${JSON.stringify(text.slice(0, 256))}... (${text.length} characters)`;
}

/** Constructors for every error. Backends use these rather than building objects by hand. */
export const StateErrors = {
  notFound(identifier: string): NotFoundError {
    return {
      code: "not_found",
      identifier,
      message: `variable ${quoteIdentifier(identifier)} not found`,
    };
  },
  alreadyExists(name: string): AlreadyExistsError {
    return {
      code: "already_exists",
      identifier: name,
      message: `variable ${quoteIdentifier(name)} already exists`,
    };
  },
  unknownType(type: unknown, variable?: string): UnknownTypeError {
    const where = variable === undefined ? "" : ` for variable ${JSON.stringify(variable)}`;
    return {
      code: "unknown_type",
      type: String(type),
      message: `unknown type ${describeValue(type)}${where}; expected one of float, integer, string, boolean, choice, module, embedding, tensor`,
    };
  },
  validation(variable: string | undefined, rule: string, detail: string): ValidationFailedError {
    const subject = variable === undefined ? "" : `variable ${JSON.stringify(variable)}: `;
    return variable === undefined
      ? { code: "validation_failed", rule, message: `${subject}${detail}` }
      : { code: "validation_failed", variable, rule, message: `${subject}${detail}` };
  },
  partialFailure(
    failed: Readonly<Record<string, StateError>>,
    applied: readonly string[],
  ): PartialFailureError {
    const names = Object.keys(failed);
    const reasons = names.map((name) => `${name}: ${failed[name]?.message}`).join("; ");
    const appliedText = applied.length === 0 ? "nothing applied" : `applied ${applied.join(", ")}`;
    return {
      code: "partial_failure",
      failed,
      applied,
      message: `${names.length} update(s) failed (${reasons}); ${appliedText}`,
    };
  },
  versionConflict(
    identifier: string,
    expectedVersion: number,
    actualVersion: number,
  ): VersionConflictError {
    return {
      code: "version_conflict",
      identifier,
      expectedVersion,
      actualVersion,
      message: `variable ${quoteIdentifier(identifier)} is at version ${actualVersion}, expected ${expectedVersion}`,
    };
  },
  sessionNotFound(sessionId: string): SessionNotFoundError {
    return {
      code: "session_not_found",
      sessionId,
      message: `session ${quoteIdentifier(sessionId)} not found`,
    };
  },
  invalidExport(path: string, detail: string): InvalidExportError {
    return {
      code: "invalid_export",
      path,
      message: `invalid export at ${path === "" ? "(root)" : path}: ${detail}`,
    };
  },
  invalidArgument(detail: string): InvalidArgumentError {
    return { code: "invalid_argument", message: detail };
  },
  unsupported(operation: string, backend: string): UnsupportedError {
    return { code: "unsupported", operation, message: `${backend} does not support ${operation}` };
  },
  limitExceeded(limit: string, max: number, detail: string): LimitExceededError {
    return { code: "limit_exceeded", limit, max, message: `${detail} (limit ${limit} = ${max})` };
  },
  unavailable(detail: string): UnavailableError {
    return { code: "unavailable", message: detail };
  },
  unauthenticated(detail: string): UnauthenticatedError {
    return { code: "unauthenticated", message: detail };
  },
  closed(backend: string): ClosedError {
    return { code: "closed", message: `${backend} state was cleaned up and can no longer be used` };
  },
} as const;

export function isStateError(value: unknown): value is StateError {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { code?: unknown }).code === "string" &&
    (ERROR_CODES as readonly string[]).includes((value as { code: string }).code) &&
    typeof (value as { message?: unknown }).message === "string"
  );
}
