"""Python client for the DSPex state bridge (`dspex-bridge`, Snakepit 0.4.1 protocol).

    from dspex_bridge import connect
    with connect("127.0.0.1:50051") as client:
        ctx = client.session("my-session")
        ctx.temperature = 0.7
"""

from ._generated import snakepit_bridge_pb2 as pb
from .client import BridgeClient, connect
from .codec import BINARY_THRESHOLD, VARIABLE_TYPES
from .errors import (
    AlreadyExistsError,
    BatchUpdateError,
    BridgeError,
    LimitExceededError,
    NotFoundError,
    SessionNotFoundError,
    UnauthenticatedError,
    UnavailableError,
    UnsupportedError,
    ValidationError,
    VersionConflictError,
)
from .records import Update, VariableRecord
from .session import SessionContext
from .watch import VariableCache, Watch

__version__ = "0.1.0"

__all__ = [
    "connect",
    "BridgeClient",
    "SessionContext",
    "VariableRecord",
    "Update",
    "Watch",
    "VariableCache",
    "VARIABLE_TYPES",
    "BINARY_THRESHOLD",
    "pb",
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
]
