"""What a failover retries, and how a call's attempts went (shared by calls and watches)."""

from __future__ import annotations

import grpc

# The next bridge is tried at once; after a whole round of failures the client waits this long
# (doubling up to the maximum) before the next round, always within the call's deadline.
RETRY_BACKOFF_INITIAL = 0.05
RETRY_BACKOFF_MAX = 0.5


def is_transport_failure(error: grpc.RpcError) -> bool:
    """The failures worth trying on another bridge: UNAVAILABLE only (grpc's "transient, retry"
    status: connection refused or dropped, bridge shutting down, its store unreachable). Not
    DEADLINE_EXCEEDED: a call's attempts share one deadline, so that one is spent."""
    return error.code() == grpc.StatusCode.UNAVAILABLE


def refuses_cursor(error: grpc.RpcError, resume_after: str) -> bool:
    """A bridge on another kind of store cannot read the cursor and answers INVALID_ARGUMENT;
    the watch then catches up from a snapshot, as when a bridge no longer holds the cursor."""
    return bool(resume_after) and error.code() == grpc.StatusCode.INVALID_ARGUMENT


class Attempts:
    """How a call went: `ambiguous` once an attempt failed after it may have reached a bridge."""

    __slots__ = ("count", "ambiguous")

    def __init__(self) -> None:
        self.count = 0
        self.ambiguous = False
