"""The server restarted mid-session on the same port."""

import time

import grpc
import pytest

import dspex_bridge
from dspex_bridge import SessionNotFoundError, UnavailableError


def test_restart_unavailable_while_down_then_working_again(start_bridge):
    server = start_bridge()
    client = dspex_bridge.connect(server.address, timeout=2)
    ctx = client.session("long-lived")
    ctx.register("temperature", "float", 0.7)
    with ctx.watch() as watch:
        watch.next(timeout=5)
        assert server.stop() == 0
        # A shutdown, even a graceful one, is not the session ending: the stream breaks.
        with pytest.raises(UnavailableError, match="shutting down"):
            watch.next(timeout=5)

    for call in (lambda: ctx.get("temperature"), lambda: ctx.set("temperature", 0.9), client.ping):
        with pytest.raises(UnavailableError) as failure:
            call()
        assert failure.value.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)

    start_bridge(port=server.port)
    deadline = time.monotonic() + 10
    while True:  # the channel reconnects by itself within its (short) backoff
        try:
            client.ping()
            break
        except UnavailableError:
            assert time.monotonic() < deadline, "client did not reconnect within 10 s"
            time.sleep(0.05)

    # The new server has no memory of the session: a clear not-found, then the same id again.
    with pytest.raises(SessionNotFoundError, match="not found"):
        ctx.get("temperature")
    assert ctx.initialize() is True
    ctx.register("temperature", "float", 0.8)
    assert ctx.get("temperature") == 0.8 and ctx.set("temperature", 0.9) == 2
    fresh = client.session()
    fresh.register("x", "integer", 1)
    assert fresh.get("x") == 1
    client.close()
