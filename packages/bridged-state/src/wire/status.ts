import { type ErrorCode, isStateError, type StateError, StateErrors } from "@dspex/state-provider";
import { Metadata, type ServiceError, type StatusObject, status } from "@grpc/grpc-js";

/**
 * Trailer (extension) carrying the contract error as UTF-8 JSON, so a remote backend gets back
 * exactly the error the store produced (code, identifier, rule, versions...). Clients that do not
 * know it read the status code and details like any other.
 */
export const ERROR_TRAILER = "dspex-error-bin";

/**
 * The status of each contract error code on the wire (bridge-protocol.md, "Status codes"): the
 * one table the server answers with. proto/wire-constants.json states it for every language;
 * test/wire-constants.test.ts and the Python tests hold this table and the client's to it.
 */
export const STATUS_OF_CODE: Readonly<Record<ErrorCode, status>> = {
  not_found: status.NOT_FOUND,
  session_not_found: status.NOT_FOUND,
  already_exists: status.ALREADY_EXISTS,
  unknown_type: status.INVALID_ARGUMENT,
  validation_failed: status.INVALID_ARGUMENT,
  invalid_argument: status.INVALID_ARGUMENT,
  invalid_export: status.INVALID_ARGUMENT,
  partial_failure: status.INVALID_ARGUMENT,
  version_conflict: status.ABORTED,
  limit_exceeded: status.RESOURCE_EXHAUSTED,
  unsupported: status.UNIMPLEMENTED,
  unavailable: status.UNAVAILABLE,
  closed: status.UNAVAILABLE,
  unauthenticated: status.UNAUTHENTICATED,
};

/**
 * The way back, for a failure without the trailer (a Snakepit server, grpc itself, the
 * transport): the contract code each status stands for; any other status is `unavailable`.
 * The details text then refines `not_found` (session or variable) and `validation_failed`.
 */
export const CODE_OF_STATUS: Readonly<Partial<Record<status, ErrorCode>>> = {
  [status.NOT_FOUND]: "not_found",
  [status.ALREADY_EXISTS]: "already_exists",
  [status.INVALID_ARGUMENT]: "validation_failed",
  [status.ABORTED]: "version_conflict",
  [status.FAILED_PRECONDITION]: "version_conflict",
  [status.RESOURCE_EXHAUSTED]: "limit_exceeded",
  [status.UNIMPLEMENTED]: "unsupported",
  [status.UNAUTHENTICATED]: "unauthenticated",
  [status.PERMISSION_DENIED]: "unauthenticated",
  [status.UNAVAILABLE]: "unavailable",
  [status.DEADLINE_EXCEEDED]: "unavailable",
};

/** The status a contract error travels with (`STATUS_OF_CODE`). */
export function statusFor(error: StateError): status {
  return STATUS_OF_CODE[error.code];
}

export function errorTrailer(error: StateError): Metadata {
  const metadata = new Metadata();
  metadata.set(ERROR_TRAILER, Buffer.from(JSON.stringify(error), "utf8"));
  return metadata;
}

/** A contract error as the status object a grpc-js handler answers with. */
export function toStatus(error: StateError): Partial<StatusObject> {
  return { code: statusFor(error), details: error.message, metadata: errorTrailer(error) };
}

/** The contract error carried in a trailer, if any. */
export function errorFromTrailer(metadata: Metadata | undefined): StateError | undefined {
  const raw = metadata?.get(ERROR_TRAILER)[0];
  if (raw === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.isBuffer(raw) ? raw.toString("utf8") : raw);
    return isStateError(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Maps a failed call back to a contract error: the trailer when the server sent one, else the
 * status code (for servers that are not this bridge, and for transport failures).
 */
export function fromServiceError(
  error: ServiceError,
  subject: { sessionId?: string; identifier?: string } = {},
): StateError {
  const carried = errorFromTrailer(error.metadata);
  // `closed` is about the caller's own state; the server's store being closed is an outage.
  if (carried?.code === "closed")
    return StateErrors.unavailable(`bridge unavailable: ${carried.message}`);
  if (carried !== undefined) return carried;
  const details = error.details || error.message;
  switch (CODE_OF_STATUS[error.code] ?? "unavailable") {
    case "not_found":
      if (subject.identifier !== undefined && !namesSession(details)) {
        return StateErrors.notFound(subject.identifier);
      }
      return StateErrors.sessionNotFound(subject.sessionId ?? "");
    case "already_exists":
      return StateErrors.alreadyExists(subject.identifier ?? "");
    case "validation_failed": {
      const unknownType = /unknown type "([^"]*)"/.exec(details);
      return unknownType
        ? StateErrors.unknownType(unknownType[1], subject.identifier)
        : StateErrors.validation(subject.identifier, "value", details);
    }
    case "version_conflict":
      return StateErrors.versionConflict(subject.identifier ?? "", 0, 0);
    case "limit_exceeded":
      return messageSizeError(details) ?? StateErrors.limitExceeded("server", 0, details);
    case "unsupported":
      return StateErrors.unsupported(details, "the bridge server");
    case "unauthenticated":
      return StateErrors.unauthenticated(`the bridge refused the call: ${details}`);
    default:
      // UNAVAILABLE, DEADLINE_EXCEEDED and statuses not in the table (CANCELLED, INTERNAL,
      // UNKNOWN): the server could not answer.
      return StateErrors.unavailable(
        `bridge unavailable (${status[error.code] ?? error.code}): ${details}`,
      );
  }
}

/**
 * A message refused by grpc itself for its size (no trailer: the handler never ran), with the
 * maximum that refused it when the details give one. The wordings of grpc-js and gRPC core:
 * "Received message larger than max (X vs Y)", "Sent message larger than max (X vs. Y)",
 * "Attempted to send message with a size larger than Y", "... decompresses to a size larger than Y".
 */
function messageSizeError(details: string): StateError | undefined {
  if (!/\bmessage\b.*\blarger than\b/i.test(details)) return undefined;
  const max =
    /larger than max \(\d+ vs\.? (\d+)\)/i.exec(details) ?? /larger than (\d+)/i.exec(details);
  return StateErrors.limitExceeded("maxMessageBytes", max ? Number(max[1]) : 0, details);
}

/**
 * Whether a NOT_FOUND text is about the session: its subject ("Session not found: s",
 * `session "s" not found`), not a variable whose name contains the word.
 */
function namesSession(details: string): boolean {
  const subject = /^\W*(session|variable)\b/i.exec(details)?.[1];
  if (subject !== undefined) return subject.toLowerCase() === "session";
  return /\bsession\b/i.test(details);
}
