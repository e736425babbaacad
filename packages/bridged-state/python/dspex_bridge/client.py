"""connect() and BridgeClient: gRPC channels to one or several dspex-bridge servers."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any, Callable, List, Mapping, Optional, Sequence, Tuple, Union

import grpc

from . import codec
from ._generated import snakepit_bridge_pb2 as pb
from ._retry import RETRY_BACKOFF_INITIAL, RETRY_BACKOFF_MAX, Attempts, is_transport_failure
from ._stubs import BridgeServiceStub
from .errors import UnavailableError, ValidationError, from_rpc_error
from .session import SessionContext

DEFAULT_TIMEOUT = 10.0
# Several bridges in one string: "10.0.0.1:50051,10.0.0.2:50051" (also DSPEX_BRIDGE_ADDRESS).
ADDRESS_SEPARATOR = ","

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

def parse_addresses(address: Union[str, Sequence[str]]) -> List[str]:
    """ "host:port", "a:1,b:2" or ["a:1", "b:2"] -> ["a:1", "b:2"]; ValidationError if empty."""
    if isinstance(address, str):
        parts = address.split(ADDRESS_SEPARATOR)
    elif isinstance(address, Sequence) and all(isinstance(part, str) for part in address):
        parts = list(address)
    else:
        raise ValidationError(f"address must be 'host:port', 'a:1,b:2' or a list of them, got {address!r}")
    addresses = [part.strip() for part in parts if part.strip()]
    if not addresses:
        raise ValidationError(f"address names no bridge: {address!r}")
    return addresses


class Endpoint:
    """One bridge address with its channel and stubs."""

    def __init__(self, address: str, channel: grpc.Channel):
        self.address = address
        self.channel = channel
        self.stub = BridgeServiceStub(channel)

    def __repr__(self) -> str:
        return f"Endpoint({self.address!r})"


class BridgeClient:
    """A connection to one or several bridge servers on the same store. Thread-safe; share one
    per process. Calls go to the current bridge; with failover on they move to the next one
    when it is unreachable (README, "Several bridges")."""

    def __init__(self, endpoints: Sequence[Endpoint], token: Optional[str], timeout: float,
                 binary_threshold: int, failover: bool, current: int = 0):
        self.timeout = timeout
        self.binary_threshold = binary_threshold
        self.failover = failover
        self._endpoints = list(endpoints)
        self._current = current
        self._route_lock = threading.Lock()
        self._call_metadata = (("authorization", f"Bearer {token}"),) if token else None
        self._sessions: List[SessionContext] = []
        self.failovers = 0  # how often calls moved to another bridge

    @property
    def address(self) -> str:
        """The bridge calls go to now."""
        return self._endpoints[self._current].address

    @property
    def addresses(self) -> Tuple[str, ...]:
        return tuple(endpoint.address for endpoint in self._endpoints)

    @property
    def stub(self) -> BridgeServiceStub:
        """The raw stubs of the current bridge (`client.stub.Ping(pb.PingRequest())`), for what
        the API does not cover. Raw calls do not fail over."""
        return self._endpoints[self._current].stub

    @property
    def call_metadata(self) -> Optional[Tuple[Tuple[str, str], ...]]:
        return self._call_metadata

    # -- routing ----------------------------------------------------------------------------------
    def endpoint(self) -> Endpoint:
        return self._endpoints[self._current]

    def lost(self, endpoint: Endpoint) -> None:
        """`endpoint` failed with a transport error: the next one becomes current. Only once per
        failure, however many threads saw it."""
        with self._route_lock:
            if self.failover and self._endpoints[self._current] is endpoint:
                self._current = (self._current + 1) % len(self._endpoints)
                self.failovers += 1

    def retry_pause(self, failures: int, backoff: float) -> float:
        """The wait before the next attempt: none inside a round, `backoff` after a whole round."""
        return backoff if failures % len(self._endpoints) == 0 else 0.0

    def call(self, method: str, request: Any, what: str, attempts: Optional[Attempts] = None) -> Any:
        """One unary call with failover: attempts on the current bridge, then the next, until one
        answers or the call's deadline (`timeout`) passes. Raises the mapped BridgeError."""
        attempts = attempts or Attempts()
        deadline = time.monotonic() + self.timeout
        backoff = RETRY_BACKOFF_INITIAL
        while True:
            endpoint = self.endpoint()
            attempts.count += 1
            try:
                return getattr(endpoint.stub, method)(
                    request, timeout=max(deadline - time.monotonic(), 0.001), metadata=self._call_metadata)
            except grpc.RpcError as error:
                if not (self.failover and is_transport_failure(error)):
                    raise from_rpc_error(error, what) from None
                attempts.ambiguous = True  # grpc cannot say whether the request reached the bridge
                self.lost(endpoint)
                pause = self.retry_pause(attempts.count, backoff)
                if time.monotonic() + pause >= deadline:
                    raise from_rpc_error(error, f"{what} (after {attempts.count} attempts on {', '.join(self.addresses)})") from None
                if pause:
                    time.sleep(pause)
                    backoff = min(backoff * 2, RETRY_BACKOFF_MAX)

    def open_watch(self, request: "pb.WatchVariablesRequest") -> Tuple[Any, Endpoint]:
        """A WatchVariables stream on the current bridge, and that bridge (for `lost`)."""
        endpoint = self.endpoint()
        return endpoint.stub.WatchVariables(request, metadata=self._call_metadata), endpoint

    # -- calls ------------------------------------------------------------------------------------
    def ping(self, message: str = "ping") -> str:
        return self.call("Ping", pb.PingRequest(message=message), "ping").message

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
        """Closes every session context (caches, watches) and the channels; idempotent."""
        for ctx in self._sessions:
            ctx.close()
        self._sessions.clear()
        for endpoint in self._endpoints:
            endpoint.channel.close()

    def __enter__(self) -> "BridgeClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _first_ready(endpoints: Sequence[Endpoint], timeout: float) -> Optional[int]:
    """The index of the bridge to start on: the first one in the given order that is ready,
    once every address before it has failed to connect; None when none is ready in time."""
    ready = [False] * len(endpoints)
    failed = [False] * len(endpoints)
    changed = threading.Condition()
    callbacks = []

    def watcher(index: int) -> Callable[[grpc.ChannelConnectivity], None]:
        def on_change(state: grpc.ChannelConnectivity) -> None:
            with changed:
                ready[index] = state == grpc.ChannelConnectivity.READY
                failed[index] = failed[index] or state == grpc.ChannelConnectivity.TRANSIENT_FAILURE
                changed.notify_all()
        return on_change

    for index, endpoint in enumerate(endpoints):
        callbacks.append(watcher(index))
        endpoint.channel.subscribe(callbacks[-1], try_to_connect=True)
    deadline = time.monotonic() + timeout
    try:
        with changed:
            while True:
                for index in range(len(endpoints)):
                    if ready[index]:
                        return index
                    if not failed[index]:
                        break  # an earlier address is still connecting: it comes first
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return next((index for index, up in enumerate(ready) if up), None)
                changed.wait(remaining)
    finally:
        for endpoint, callback in zip(endpoints, callbacks):
            endpoint.channel.unsubscribe(callback)


def connect(address: Union[str, Sequence[str]], token: Optional[str] = None,
            tls: Union[None, bool, grpc.ChannelCredentials] = None,
            root_certificates: Optional[bytes] = None, timeout: float = DEFAULT_TIMEOUT,
            wait_ready: bool = True, binary_threshold: int = codec.BINARY_THRESHOLD,
            options: Optional[List[Tuple[str, Any]]] = None, failover: Optional[bool] = None) -> BridgeClient:
    """Connects to a dspex-bridge server at "host:port", or to several bridges on one store:
    "a:1,b:2" or ["a:1", "b:2"].

    token: sent as `authorization: Bearer <token>` on every call. tls: True (system roots), a
    grpc.ChannelCredentials, or implied by root_certificates (PEM bytes). timeout: seconds per
    call (failover attempts included), and how long to wait here for a first bridge to be up
    (UnavailableError when none is). binary_threshold: embeddings/tensors with at least this
    many elements are sent in the binary format (0 disables binary writes). failover: retry
    UNAVAILABLE on the next bridge within the call's deadline, and resume broken watches; on by
    default with several addresses, off with one (a failure then surfaces at once, as before).
    """
    addresses = parse_addresses(address)
    channel_options = _CHANNEL_OPTIONS + list(options or [])
    if isinstance(tls, grpc.ChannelCredentials):
        credentials: Optional[grpc.ChannelCredentials] = tls
    elif tls or root_certificates is not None:
        credentials = grpc.ssl_channel_credentials(root_certificates=root_certificates)
    else:
        credentials = None

    def channel_to(target: str) -> grpc.Channel:
        if credentials is None:
            return grpc.insecure_channel(target, options=channel_options)
        return grpc.secure_channel(target, credentials, options=channel_options)

    endpoints = [Endpoint(target, channel_to(target)) for target in addresses]
    current = 0
    if wait_ready:
        found = _first_ready(endpoints, timeout)
        if found is None:
            for endpoint in endpoints:
                endpoint.channel.close()
            names = ", ".join(addresses)
            raise UnavailableError(f"connect {names}: not reachable within {timeout} s [UNAVAILABLE]") from None
        current = found
    return BridgeClient(endpoints, token, timeout, binary_threshold,
                        len(endpoints) > 1 if failover is None else bool(failover), current)

