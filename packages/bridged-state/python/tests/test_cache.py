"""The read cache: fed only by a watch stream, bypassed when it cannot vouch for a value."""

import queue
import threading
import time
import uuid

import pytest

import dspex_bridge
from dspex_bridge import NotFoundError, UnavailableError, ValidationError


def _wait(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def test_cached_reads_follow_typescript_writes(client, peer):
    ctx = client.session(f"c-{uuid.uuid4().hex[:8]}")
    ctx.register("temperature", "float", 0.5)
    cache = ctx.enable_cache()
    assert cache.wait_until_cached("temperature")
    hits = cache.hits
    assert ctx.get("temperature") == 0.5 and cache.hits == hits + 1
    version = peer.call("set", session=ctx.session_id, name="temperature", type="float", value=0.75)
    assert cache.wait_until_cached("temperature", version=version)
    assert ctx.temperature == 0.75 and cache.hits == hits + 2  # served from the cache
    assert ctx.get("temperature", fresh=True) == 0.75 and cache.hits == hits + 2
    peer.call("register", session=ctx.session_id, name="late", type="integer", value=7)
    assert cache.wait_until_cached("late")  # new variables arrive on the stream too
    assert ctx["late"] == 7
    ctx.cleanup()


def test_cache_reads_your_own_writes(ctx):
    ctx.register("n", "integer", 0)
    cache = ctx.enable_cache()
    assert cache.wait_until_cached("n")
    for i in range(1, 101):  # never an older value than the write that just returned
        ctx.set("n", i)
        assert ctx.get("n") == i
    ctx.update_many({"n": 500})
    assert ctx.get("n") == 500
    assert cache.wait_until_cached("n", version=102)
    assert ctx.get("n") == 500 and cache.hits > 0


def test_cache_drops_deleted_variables(client, peer):
    ctx = client.session(f"c-{uuid.uuid4().hex[:8]}")
    ctx.register("a", "integer", 1)
    ctx.register("b", "integer", 2)
    cache = ctx.enable_cache()
    assert cache.wait_until_cached("a", "b")
    ctx.delete("a")
    with pytest.raises(NotFoundError):  # own delete: gone at once
        ctx.get("a")
    peer.call("delete", session=ctx.session_id, name="b")
    assert _wait(lambda: cache.cached_version("b") is None)
    with pytest.raises(NotFoundError):
        ctx.get("b")
    ctx.cleanup()


def test_cached_arrays_are_copies(ctx):
    ctx.register("e", "embedding", [1.0, 2.0, 3.0])
    ctx.register("t", "tensor", {"shape": [2], "data": [1.0, 2.0]})
    cache = ctx.enable_cache()
    assert cache.wait_until_cached("e", "t")
    ctx.get("e").append(4.0)
    ctx.get("t")["data"][0] = 99.0
    assert ctx.get("e") == [1.0, 2.0, 3.0]
    assert ctx.get("t") == {"shape": [2], "data": [1.0, 2.0]}


def test_cache_of_selected_names_reads_others_from_the_server(ctx):
    ctx.register("lm.t", "float", 0.1)
    ctx.register("k", "integer", 3)
    cache = ctx.enable_cache("lm.*")
    assert cache.wait_until_cached("lm.t")
    misses = cache.misses
    assert ctx.get("k") == 3 and cache.misses == misses + 1
    assert cache.cached_version("k") is None


def test_max_silence_bypasses_a_quiet_stream(client):
    # The shared server heartbeats every 200 ms: 1 s of silence never happens, 50 ms often does.
    ctx = client.session()
    ctx.register("a", "integer", 1)
    patient = ctx.enable_cache(max_silence=1.0)
    assert patient.wait_until_cached("a")
    time.sleep(0.3)
    hits = patient.hits
    assert ctx.get("a") == 1 and patient.hits == hits + 1
    ctx.disable_cache()
    strict = ctx.enable_cache(max_silence=0.05)
    assert strict.wait_until_cached("a")
    misses = strict.misses
    # Reads keep returning the right value; those in a silent gap went to the server.
    assert _wait(lambda: ctx.get("a") == 1 and strict.misses > misses, timeout=3)
    ctx.cleanup()


def test_cache_is_emptied_when_the_stream_breaks_and_refills_after(start_bridge):
    server = start_bridge("--heartbeat-ms", "100")
    client = dspex_bridge.connect(server.address, timeout=2)
    ctx = client.session("cached")
    ctx.register("a", "integer", 1)
    cache = ctx.enable_cache()
    assert cache.wait_until_cached("a") and cache.live
    assert server.stop() == 0
    assert _wait(lambda: not cache.live)
    assert cache.cached_version("a") is None
    with pytest.raises(UnavailableError):  # never the stale cached 1
        ctx.get("a")
    start_bridge("--heartbeat-ms", "100", port=server.port)
    assert _wait(lambda: _initialized(ctx), timeout=10)
    ctx.register("a", "integer", 2)
    assert cache.wait_until_cached("a", timeout=10)  # the cache stream reconnected by itself
    assert ctx.get("a") == 2 and cache.connects >= 2
    client.close()


def _initialized(ctx):
    try:
        return ctx.initialize() or True
    except UnavailableError:
        return False


def test_cached_reads_never_go_backwards_during_typescript_writes(client, peer):
    ctx = client.session(f"c-{uuid.uuid4().hex[:8]}")
    ctx.register("step", "integer", 0)
    cache = ctx.enable_cache("step")
    assert cache.wait_until_cached("step")
    values = list(range(1, 201))
    pending = peer.start("sequence", session=ctx.session_id, name="step", type="integer", values=values)
    seen = []
    deadline = time.monotonic() + 20
    while (not seen or seen[-1] < values[-1]) and time.monotonic() < deadline:
        seen.append(ctx.get("step"))
    peer.result(pending)
    assert seen == sorted(seen) and seen[-1] == 200  # monotonic, and it caught up
    assert cache.hits > len(set(seen))  # most reads came from the cache
    ctx.cleanup()


def _hold_stream(cache):
    """Delivers the cache's stream messages (heartbeats aside) one per `release()`, so a test can
    look at the cache between two of them."""
    permits, applied = threading.Semaphore(0), queue.Queue()
    deliver = cache._apply

    def held(message):
        if message.update_type != "heartbeat":
            assert permits.acquire(timeout=10), "the test never released this message"
        deliver(message)
        if message.update_type != "heartbeat":
            applied.put(message.update_type)

    cache._apply = held

    def release():
        permits.release()
        return applied.get(timeout=5)

    return release


def test_own_register_is_never_shadowed_by_the_variable_it_replaced(client, peer):
    # TypeScript deletes x and Python registers a new x before the stream delivered the
    # deletion: reads of x must answer the new variable, never the deleted one's cached value.
    ctx = client.session(f"c-{uuid.uuid4().hex[:8]}")
    ctx.register("x", "integer", 1)
    cache = ctx.enable_cache()
    assert cache.wait_until_cached("x")
    release = _hold_stream(cache)
    peer.call("set", session=ctx.session_id, name="x", type="integer", value=2)
    peer.call("delete", session=ctx.session_id, name="x")
    new_id = ctx.register("x", "string", "fresh")
    assert ctx.get("x") == "fresh"
    for expected in ("value_change", "deleted", "registered"):
        assert release() == expected
        assert ctx.get("x") == "fresh", f"after the {expected} message"
    assert cache.cached_version(new_id) == 1
    hits = cache.hits
    assert ctx.get("x") == "fresh" and cache.hits == hits + 1  # the new x is served from the cache
    ctx.cleanup()


def test_a_name_this_client_deleted_is_cached_again_when_typescript_registers_it(client, peer):
    ctx = client.session(f"c-{uuid.uuid4().hex[:8]}")
    ctx.register("x", "integer", 1)
    cache = ctx.enable_cache()
    assert cache.wait_until_cached("x")
    ctx.delete("x")
    peer.call("register", session=ctx.session_id, name="x", type="string", value="from ts")
    assert cache.wait_until_cached("x"), "the new x never reached the cache"
    hits = cache.hits
    assert ctx.get("x") == "from ts" and cache.hits == hits + 1
    ctx.cleanup()


def test_cache_shared_by_threads_keeps_each_threads_writes_and_never_goes_backwards(client, peer):
    ctx = client.session(f"c-{uuid.uuid4().hex[:8]}")
    threads = 4
    for i in range(threads):
        ctx.register(f"own{i}", "integer", 0)
    ctx.register("step", "integer", 0)
    cache = ctx.enable_cache()
    assert cache.wait_until_cached("step", *[f"own{i}" for i in range(threads)])
    pending = peer.start("sequence", session=ctx.session_id, name="step", type="integer", values=list(range(1, 151)))
    problems = []

    def work(i):
        name, last_step = f"own{i}", 0
        for k in range(1, 101):
            ctx.set(name, k)
            if ctx.get(name) != k:
                problems.append(f"{name}: wrote {k}, read {ctx.get(name, fresh=True)}")
            step = ctx.get("step")
            if step < last_step:
                problems.append(f"thread {i}: step went back from {last_step} to {step}")
            last_step = step

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    peer.result(pending)
    assert problems == []
    assert cache.wait_until_cached("step", version=151)
    assert ctx.get("step") == 150 and cache.hits > 0
    ctx.cleanup()


def test_enable_cache_again_with_other_settings_is_refused_not_ignored(ctx):
    ctx.register("a", "integer", 1)
    cache = ctx.enable_cache()
    assert ctx.enable_cache() is cache  # the same settings: the cache already running
    # A caller asking for max_silence must not silently get a cache without it.
    with pytest.raises(ValidationError, match="disable_cache"):
        ctx.enable_cache(max_silence=1.0)
    with pytest.raises(ValidationError, match="disable_cache"):
        ctx.enable_cache("lm.*")
    assert ctx.cache is cache
    ctx.disable_cache()
    assert ctx.enable_cache(max_silence=1.0) is not cache
    ctx.disable_cache()
    # Names given as a generator are kept as a list: every reconnect re-sends them.
    assert ctx.enable_cache(name for name in ["a"]).selector == ["a"]
