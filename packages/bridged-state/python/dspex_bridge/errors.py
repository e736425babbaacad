"""Typed exceptions for the bridge (bridge-protocol.md, "Status codes and errors").

dspex-bridge sends the contract error in the `dspex-error-bin` trailer: the exception is chosen
by its exact `code`, and the message text is never parsed then. Without the trailer (an original
Snakepit bridge, grpc itself, the transport) the status code chooses, and the text tells a
missing session from a missing variable and gives the current version of a conflict.
"""

from __future__ import annotations

import re
import json
from typing import Any, Dict, Mapping, Optional

import grpc

__all__ = [
    "BridgeError",
    "NotFoundError",
    "SessionNotFoundError",
    "AlreadyExistsError",
    "ValidationError",
    "VersionConflictError",
    "LimitExceededError",
    "UnauthenticatedError",
    "UnavailableError",
    "UnsupportedError",
    "BatchUpdateError",
    "from_rpc_error",
]


class BridgeError(Exception):
    """Base of every error this client raises. `code` is the gRPC status code (or None)."""

    code: Optional[grpc.StatusCode] = None

    def __init__(self, message: str, code: Optional[grpc.StatusCode] = None, details: str = ""):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details or message
        # The contract error ({"code": "not_found", ...}) when the server sent its trailer.
        self.info: Dict[str, Any] = {}

    # KeyError (a base of NotFoundError) would quote the message; keep it readable.
    def __str__(self) -> str:
        return self.message


class NotFoundError(BridgeError, KeyError):
    """NOT_FOUND: unknown variable or session. Also a KeyError, so `ctx["x"]` behaves like a dict."""

    code = grpc.StatusCode.NOT_FOUND


class SessionNotFoundError(NotFoundError):
    """NOT_FOUND for the session itself (e.g. after the server restarted and lost it)."""


class AlreadyExistsError(BridgeError):
    """ALREADY_EXISTS: a variable name or session id is taken."""

    code = grpc.StatusCode.ALREADY_EXISTS


class ValidationError(BridgeError, ValueError):
    """INVALID_ARGUMENT (bad value, type, constraint), or a value this client cannot encode."""

    code = grpc.StatusCode.INVALID_ARGUMENT


class VersionConflictError(BridgeError):
    """ABORTED: expected_version did not match. `current_version` when the server names it."""

    code = grpc.StatusCode.ABORTED

    def __init__(self, message: str, code: Optional[grpc.StatusCode] = None, details: str = "",
                 current_version: Optional[int] = None):
        super().__init__(message, code, details)
        self.current_version = current_version


class LimitExceededError(BridgeError):
    """RESOURCE_EXHAUSTED: a session, variable or value-size limit."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class UnauthenticatedError(BridgeError):
    """UNAUTHENTICATED: missing or wrong token."""

    code = grpc.StatusCode.UNAUTHENTICATED


class UnavailableError(BridgeError, ConnectionError):
    """UNAVAILABLE or DEADLINE_EXCEEDED: the server is down, unreachable, shutting down or slow."""

    code = grpc.StatusCode.UNAVAILABLE


class UnsupportedError(BridgeError, NotImplementedError):
    """UNIMPLEMENTED: the server does not offer this operation."""

    code = grpc.StatusCode.UNIMPLEMENTED


class BatchUpdateError(BridgeError):
    """An update_many that did not fully succeed.

    `errors` maps each failing identifier to the server's message; `applied` maps identifiers
    that were written anyway (only for atomic=False) to their new version.
    """

    def __init__(self, errors: Mapping[str, str], applied: Mapping[str, int], atomic: bool):
        what = "; ".join(f"{k}: {v}" for k, v in sorted(errors.items()))
        head = "atomic batch update applied nothing" if atomic else "batch update partially failed"
        super().__init__(f"{head} ({len(errors)} failed): {what}")
        self.errors = dict(errors)
        self.applied = dict(applied)
        self.atomic = atomic


# The exception of each contract error code (the trailer's "code"), every code of
# @dspex/state-provider's ERROR_CODES. proto/wire-constants.json states the status of each code;
# tests/test_wire_constants.py holds this table to it.
_BY_CONTRACT_CODE = {
    "not_found": NotFoundError,
    "session_not_found": SessionNotFoundError,
    "already_exists": AlreadyExistsError,
    "unknown_type": ValidationError,
    "validation_failed": ValidationError,
    "invalid_argument": ValidationError,
    "invalid_export": ValidationError,
    "partial_failure": ValidationError,
    "version_conflict": VersionConflictError,
    "limit_exceeded": LimitExceededError,
    "unsupported": UnsupportedError,
    "unavailable": UnavailableError,
    "closed": UnavailableError,  # the server's store is closed: an outage to this client
    "unauthenticated": UnauthenticatedError,
}

# Without the trailer: the exception of each status (wire-constants.json,
# "codeOfStatusWithoutTrailer"); any other status is a plain BridgeError.
_BY_STATUS = {
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.INVALID_ARGUMENT: ValidationError,
    grpc.StatusCode.ABORTED: VersionConflictError,
    grpc.StatusCode.FAILED_PRECONDITION: VersionConflictError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: LimitExceededError,
    grpc.StatusCode.UNIMPLEMENTED: UnsupportedError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    grpc.StatusCode.PERMISSION_DENIED: UnauthenticatedError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: UnavailableError,
}

# Text rules, only for failures without the trailer.
_SESSION_NOT_FOUND = re.compile(r"\bsession \"[^\"]*\" not found")
_CURRENT_VERSION = re.compile(r"(?:current version|is at version) (\d+)")
# dspex-bridge sends the contract error as JSON in this trailer (an extension; optional).
ERROR_TRAILER = "dspex-error-bin"


def _contract_error(error: grpc.RpcError) -> Dict[str, Any]:
    """The contract error in the trailer, or {} when there is none (or it is not one)."""
    try:
        trailers = error.trailing_metadata() or ()
    except Exception:  # not a call (e.g. a channel failure)
        return {}
    for key, value in trailers:
        if key == ERROR_TRAILER:
            try:
                parsed = json.loads(value.decode("utf-8") if isinstance(value, bytes) else value)
            except ValueError:
                return {}
            is_contract_error = isinstance(parsed, dict) and isinstance(parsed.get("code"), str)
            return parsed if is_contract_error else {}
    return {}


def _class_and_version(code: Optional[grpc.StatusCode], details: str, info: Dict[str, Any]):
    if info:
        # By the exact code; a code newer than this client falls back to the status, not the text.
        cls = _BY_CONTRACT_CODE.get(info["code"]) or _BY_STATUS.get(code, BridgeError)
        version = info.get("actualVersion")
        return cls, version if isinstance(version, int) and not isinstance(version, bool) else None
    cls = _BY_STATUS.get(code, BridgeError)
    if cls is NotFoundError and _SESSION_NOT_FOUND.search(details):
        cls = SessionNotFoundError
    found = _CURRENT_VERSION.search(details) if cls is VersionConflictError else None
    return cls, int(found.group(1)) if found else None


def from_rpc_error(error: grpc.RpcError, what: str = "") -> BridgeError:
    """The typed exception for a failed call; `what` names the call for the message."""
    code = error.code() if hasattr(error, "code") else None
    details = (error.details() if hasattr(error, "details") else None) or ""
    info = _contract_error(error)
    cls, current_version = _class_and_version(code, details, info)
    name = code.name if code is not None else "UNKNOWN"
    prefix = f"{what}: " if what else ""
    message = f"{prefix}{details or name} [{name}]"
    if cls is VersionConflictError:
        failure: BridgeError = VersionConflictError(message, code, details, current_version)
    else:
        failure = cls(message, code, details)
    failure.info = info
    return failure
