"""Typed exceptions for the bridge, mapped from gRPC status codes (bridge-protocol.md)."""

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

    def __init__(self, message: str, code: Optional[grpc.StatusCode] = None, details: str = ""):
        super().__init__(message, code, details)
        found = re.search(r"(?:current version|is at version) (\d+)", details or message)
        self.current_version: Optional[int] = int(found.group(1)) if found else None


class LimitExceededError(BridgeError):
    """RESOURCE_EXHAUSTED: a session, variable or value-size limit."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class UnauthenticatedError(BridgeError):
    """UNAUTHENTICATED: missing or wrong token."""

    code = grpc.StatusCode.UNAUTHENTICATED


class UnavailableError(BridgeError, ConnectionError):
    """UNAVAILABLE or DEADLINE_EXCEEDED: the server is down, unreachable, shutting down or slow."""

    code = grpc.StatusCode.UNAVAILABLE


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


_BY_CODE = {
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.INVALID_ARGUMENT: ValidationError,
    grpc.StatusCode.ABORTED: VersionConflictError,
    grpc.StatusCode.FAILED_PRECONDITION: VersionConflictError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: LimitExceededError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    grpc.StatusCode.PERMISSION_DENIED: UnauthenticatedError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: UnavailableError,
}

_SESSION_NOT_FOUND = re.compile(r"\bsession \"[^\"]*\" not found")
# dspex-bridge sends the contract error as JSON in this trailer (an extension; optional).
ERROR_TRAILER = "dspex-error-bin"


def _contract_error(error: grpc.RpcError) -> Dict[str, Any]:
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
            return parsed if isinstance(parsed, dict) else {}
    return {}


def from_rpc_error(error: grpc.RpcError, what: str = "") -> BridgeError:
    """The typed exception for a failed call; `what` names the call for the message."""
    code = error.code() if hasattr(error, "code") else None
    details = (error.details() if hasattr(error, "details") else None) or ""
    info = _contract_error(error)
    cls = _BY_CODE.get(code, BridgeError)
    if cls is NotFoundError and (info.get("code") == "session_not_found" or (not info and _SESSION_NOT_FOUND.search(details))):
        cls = SessionNotFoundError
    name = code.name if code is not None else "UNKNOWN"
    prefix = f"{what}: " if what else ""
    failure = cls(f"{prefix}{details or name} [{name}]", code, details)
    failure.info = info
    if isinstance(failure, VersionConflictError) and isinstance(info.get("actualVersion"), int):
        failure.current_version = info["actualVersion"]
    return failure
