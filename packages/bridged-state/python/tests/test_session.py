"""Connecting and sessions: Ping, InitializeSession, GetSession, Heartbeat, CleanupSession."""

import socket
import threading
import time
import uuid

import pytest

import dspex_bridge
from dspex_bridge import SessionNotFoundError, UnavailableError


def test_ping_answers(client):
    assert client.ping("hello") == "hello"


def test_connect_to_a_closed_port_raises_unavailable():
    with socket.socket() as probe:  # a port nobody listens on once the socket is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(UnavailableError, match="not reachable"):
        dspex_bridge.connect(f"127.0.0.1:{port}", timeout=0.5)


def test_session_is_created_then_joined(client):
    session_id = f"s-{uuid.uuid4().hex[:8]}"
    first = client.session(session_id, metadata={"owner": "test"})
    assert first.created is True
    info = first.info()
    assert info["session_id"] == session_id
    assert info["metadata"] == {"owner": "test", "source": "python"}
    assert info["created_at"] is not None and info["variable_count"] == 0

    first.register("x", "integer", 1)
    again = client.session(session_id)
    assert again.created is False and again["x"] == 1
    joined = client.session(session_id, create=False)
    assert joined.get("x") == 1 and joined.info()["variable_count"] == 1
    first.cleanup()


def test_joining_an_unknown_session_raises_session_not_found(client):
    with pytest.raises(SessionNotFoundError, match="not found") as failure:
        client.session("no-such-session", create=False)
    assert isinstance(failure.value, dspex_bridge.NotFoundError)


def test_session_without_id_gets_a_fresh_one(client):
    ctx = client.session()
    assert ctx.session_id.startswith("py-") and ctx.created
    ctx.cleanup()


def test_heartbeat_and_exposed_tools(ctx):
    assert ctx.heartbeat() is True
    assert ctx.exposed_tools() == []


def test_cleanup_deletes_the_session_and_ends_its_watches(client):
    ctx = client.session()
    ctx.register("a", "float", 1.0)
    watch = ctx.watch(include_initial=True)
    assert watch.next(timeout=5).kind == "initial_value"
    assert ctx.cleanup() >= 1
    with pytest.raises(StopIteration):  # the context closes its own watches first
        watch.next(timeout=5)
    with pytest.raises(SessionNotFoundError):
        ctx.info()
    with pytest.raises(SessionNotFoundError):
        ctx.get("a")
    with pytest.raises(SessionNotFoundError):
        ctx.watch().next(timeout=5)
    assert ctx.initialize() is True  # the way back: the same id, created anew
    assert ctx.list() == []
    ctx.cleanup()


def test_cleanup_by_another_client_ends_a_watch_stream_cleanly(client, bridge):
    ctx = client.session()
    ctx.register("a", "float", 1.0)
    with ctx.watch() as watch:
        assert watch.next(timeout=5).kind == "initial_value"
        with dspex_bridge.connect(bridge.address) as other:
            other.session(ctx.session_id, create=False).cleanup()
        with pytest.raises(StopIteration):
            while True:
                watch.next(timeout=5)


def _threads_started_since(before, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:  # grpc's own polling threads end a moment after their last call
        extra = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not extra or time.monotonic() > deadline:
            return extra
        time.sleep(0.02)


def test_closing_leaves_no_thread_behind(bridge):
    before = set(threading.enumerate())
    client = dspex_bridge.connect(bridge.address)
    ctx = client.session()
    ctx.register("a", "integer", 1)
    cancelled = ctx.watch()
    assert cancelled.next(timeout=5).kind == "initial_value"
    cancelled.cancel()
    assert not cancelled.active  # cancel() joins its reader thread
    for update in ctx.watch():  # left without closing: ctx.close() ends it
        assert update.name == "a"
        break
    cache = ctx.enable_cache()
    assert cache.wait_until_cached("a")
    other = client.session()
    other.watch("a", include_initial=False)  # a second context, closed by client.close()
    assert any(t.name.startswith("dspex-bridge") for t in threading.enumerate())
    ctx.cleanup()
    client.close()
    assert _threads_started_since(before) == []


def test_a_lost_session_is_not_reported_as_a_missing_variable(client):
    # Like get(x, default), membership and getattr(ctx, x, default) must not hide that the
    # session itself is gone (e.g. after a server restart).
    ctx = client.session()
    ctx.register("a", "integer", 1)
    with dspex_bridge.connect(client.address) as other:
        other.session(ctx.session_id, create=False).cleanup()
    with pytest.raises(SessionNotFoundError):
        ctx.get("a", default=None)
    with pytest.raises(SessionNotFoundError):
        "a" in ctx  # noqa: B015
    with pytest.raises(SessionNotFoundError):
        getattr(ctx, "a", None)
    with pytest.raises(SessionNotFoundError):
        hasattr(ctx, "a")


def test_a_watch_whose_reader_fails_unexpectedly_raises_instead_of_hanging(ctx, monkeypatch):
    ctx.register("a", "integer", 1)

    def broken(message):
        raise RuntimeError("cannot read this message")

    monkeypatch.setattr(dspex_bridge.watch.Update, "from_proto", staticmethod(broken))
    with ctx.watch() as watch:
        with pytest.raises(dspex_bridge.BridgeError, match="cannot read this message"):
            watch.next(timeout=5)
    assert not watch.active


def test_the_client_does_not_keep_cleaned_up_contexts_alive(client):
    # A long-running worker that opens a session per job must not grow without bound.
    import gc
    import weakref

    refs = []
    for _ in range(20):
        ctx = client.session()
        ctx.register("a", "integer", 1)
        ctx.cleanup()
        refs.append(weakref.ref(ctx))
    del ctx
    gc.collect()
    assert [ref for ref in refs if ref() is not None] == []


def test_a_context_initialized_again_after_cleanup_is_closed_with_the_client(bridge):
    before = set(threading.enumerate())
    client = dspex_bridge.connect(bridge.address)
    ctx = client.session()
    ctx.cleanup()
    assert ctx.initialize() is True
    ctx.register("a", "integer", 1)
    assert ctx.enable_cache().wait_until_cached("a")
    client.close()  # stops the cache of the re-initialized context too
    assert ctx.cache is None and _threads_started_since(before) == []
