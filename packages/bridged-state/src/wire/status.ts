import { isStateError, type StateError, StateErrors } from "@dspex/state-provider";
import { Metadata, type ServiceError, type StatusObject, status } from "@grpc/grpc-js";

/**
 * Trailer (extension) carrying the contract error as UTF-8 JSON, so a remote backend gets back
 * exactly the error the store produced (code, identifier, rule, versions...). Clients that do not
 * know it read the status code and details like any other.
 */
export const ERROR_TRAILER = "dspex-error-bin";

/** The status of each contract error code on the wire (bridge-protocol.md, "Status codes"). */
export function statusFor(error: StateError): status {
  switch (error.code) {
    case "not_found":
    case "session_not_found":
      return status.NOT_FOUND;
    case "already_exists":
      return status.ALREADY_EXISTS;
    case "unknown_type":
    case "validation_failed":
    case "invalid_argument":
    case "invalid_export":
    case "partial_failure":
      return status.INVALID_ARGUMENT;
    case "version_conflict":
      return status.ABORTED;
    case "limit_exceeded":
      return status.RESOURCE_EXHAUSTED;
    case "unsupported":
      return status.UNIMPLEMENTED;
    case "unavailable":
    case "closed":
      return status.UNAVAILABLE;
    case "unauthenticated":
      return status.UNAUTHENTICATED;
  }
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
  switch (error.code) {
    case status.NOT_FOUND:
      if (subject.identifier !== undefined && !namesSession(details)) {
        return StateErrors.notFound(subject.identifier);
      }
      return StateErrors.sessionNotFound(subject.sessionId ?? "");
    case status.ALREADY_EXISTS:
      return StateErrors.alreadyExists(subject.identifier ?? "");
    case status.INVALID_ARGUMENT: {
      const unknownType = /unknown type "([^"]*)"/.exec(details);
      return unknownType
        ? StateErrors.unknownType(unknownType[1], subject.identifier)
        : StateErrors.validation(subject.identifier, "value", details);
    }
    case status.ABORTED:
    case status.FAILED_PRECONDITION:
      return StateErrors.versionConflict(subject.identifier ?? "", 0, 0);
    case status.RESOURCE_EXHAUSTED:
      return messageSizeError(details) ?? StateErrors.limitExceeded("server", 0, details);
    case status.UNIMPLEMENTED:
      return StateErrors.unsupported(details, "the bridge server");
    case status.UNAUTHENTICATED:
    case status.PERMISSION_DENIED:
      return StateErrors.unauthenticated(`the bridge refused the call: ${details}`);
    default:
      // UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED, INTERNAL, UNKNOWN: the server could not answer.
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
