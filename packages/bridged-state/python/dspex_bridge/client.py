"""connect() and BridgeClient: one gRPC channel to a dspex-bridge server."""

from __future__ import annotations

import uuid
from typing import Any, List, Mapping, Optional, Tuple, Union

import grpc

from . import codec
from ._generated import snakepit_bridge_pb2 as pb
from ._stubs import BridgeServiceStub
from .errors import UnavailableError, from_rpc_error
from .session import SessionContext

DEFAULT_TIMEOUT = 10.0

# Reconnect quickly after a server restart: grpc's backoff grows to 120 s by default, and it
# re-resolves the address at most every 30 s, which alone delays a reconnect by seconds.
_CHANNEL_OPTIONS: List[Tuple[str, Any]] = [
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
    ("grpc.dns_min_time_between_resolutions_ms", 100),
]


class BridgeClient:
    """A connection to a bridge server. Thread-safe; share one per process."""

    def __init__(self, channel: grpc.Channel, address: str, token: Optional[str], timeout: float,
                 binary_threshold: int):
        self.address = address
        self.timeout = timeout
        self.binary_threshold = binary_threshold
        self._channel = channel
        self._stub = BridgeServiceStub(channel)
        self._call_metadata = (("authorization", f"Bearer {token}"),) if token else None
        self._sessions: List[SessionContext] = []

    @property
    def stub(self) -> BridgeServiceStub:
        """The raw stubs (`client.stub.Ping(pb.PingRequest())`), for what the API does not cover."""
        return self._stub

    @property
    def call_metadata(self) -> Optional[Tuple[Tuple[str, str], ...]]:
        return self._call_metadata

    def ping(self, message: str = "ping") -> str:
        try:
            return self._stub.Ping(pb.PingRequest(message=message), timeout=self.timeout, metadata=self._call_metadata).message
        except grpc.RpcError as error:
            raise from_rpc_error(error, "ping") from None

    def session(self, session_id: Optional[str] = None, create: bool = True,
                metadata: Optional[Mapping[str, str]] = None) -> SessionContext:
        """A SessionContext. create=True creates the session, or joins it when it exists;
        create=False joins an existing one (NotFoundError if there is none). Without an id a
        fresh one is made up."""
        ctx = SessionContext(self, session_id or f"py-{uuid.uuid4().hex[:12]}")
        if create:
            ctx.initialize(metadata)
        else:
            ctx.info()
        self._track(ctx)
        return ctx

    def _forget(self, ctx: SessionContext) -> None:
        # A cleaned-up context; initialize() on it again registers it anew.
        if ctx in self._sessions:
            self._sessions.remove(ctx)

    def _track(self, ctx: SessionContext) -> None:
        if ctx not in self._sessions:
            self._sessions.append(ctx)

    def close(self) -> None:
        """Closes every session context (caches, watches) and the channel; idempotent."""
        for ctx in self._sessions:
            ctx.close()
        self._sessions.clear()
        self._channel.close()

    def __enter__(self) -> "BridgeClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def connect(address: str, token: Optional[str] = None,
            tls: Union[None, bool, grpc.ChannelCredentials] = None,
            root_certificates: Optional[bytes] = None, timeout: float = DEFAULT_TIMEOUT,
            wait_ready: bool = True, binary_threshold: int = codec.BINARY_THRESHOLD,
            options: Optional[List[Tuple[str, Any]]] = None) -> BridgeClient:
    """Connects to a dspex-bridge server at "host:port".

    token: sent as `authorization: Bearer <token>` on every call. tls: True (system roots), a
    grpc.ChannelCredentials, or implied by root_certificates (PEM bytes). timeout: seconds per
    call, and how long to wait for the server here (UnavailableError when it is not up).
    binary_threshold: embeddings/tensors with at least this many elements are sent in the
    binary format (0 disables binary writes).
    """
    channel_options = _CHANNEL_OPTIONS + list(options or [])
    if isinstance(tls, grpc.ChannelCredentials):
        channel = grpc.secure_channel(address, tls, options=channel_options)
    elif tls or root_certificates is not None:
        credentials = grpc.ssl_channel_credentials(root_certificates=root_certificates)
        channel = grpc.secure_channel(address, credentials, options=channel_options)
    else:
        channel = grpc.insecure_channel(address, options=channel_options)
    if wait_ready:
        try:
            grpc.channel_ready_future(channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            channel.close()
            raise UnavailableError(f"connect {address}: server not reachable within {timeout} s [UNAVAILABLE]") from None
    return BridgeClient(channel, address, token, timeout, binary_threshold)
