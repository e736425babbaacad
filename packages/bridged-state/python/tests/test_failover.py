"""Several bridges on one store: addresses, failover, idempotent retries (tests/two_bridges.mjs)."""

import socket
import threading
import time

import grpc
import pytest

import dspex_bridge
from dspex_bridge import AlreadyExistsError, NotFoundError, UnavailableError, ValidationError
from dspex_bridge.client import parse_addresses


def _closed_port_address():
    with socket.socket() as probe:  # nobody listens on it once the socket is closed
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


class _LostInTransit(grpc.RpcError):
    """What a bridge dying after it applied a call but before it answered looks like."""

    def code(self):
        return grpc.StatusCode.UNAVAILABLE

    def details(self):
        return "simulated: the answer was lost in transit"

    def trailing_metadata(self):
        return ()


def _lose_first_answer(client, method, instead=None, after=None):
    """The first `method` call reaches the bridge (or runs `instead`), then `after` runs and its
    answer is lost; the requests every attempt sent are returned as they go."""
    sent = []
    for endpoint in client._endpoints:
        real = getattr(endpoint.stub, method)

        def attempt(request, real=real, **kwargs):
            sent.append(type(request).FromString(request.SerializeToString()))
            if len(sent) == 1:
                instead() if instead else real(request, **kwargs)
                if after:
                    after()
                raise _LostInTransit()
            return real(request, **kwargs)

        setattr(endpoint.stub, method, attempt)
    return sent


def test_addresses_are_one_string_comma_separated_or_a_list():
    assert parse_addresses("127.0.0.1:1") == ["127.0.0.1:1"]
    assert parse_addresses(" 127.0.0.1:1 , 127.0.0.1:2,") == ["127.0.0.1:1", "127.0.0.1:2"]
    assert parse_addresses(("a:1", "b:2")) == ["a:1", "b:2"]
    for bad in ("", " , ", [], ["a:1", 2], None, 5):
        with pytest.raises(ValidationError, match="address"):
            parse_addresses(bad)
    with pytest.raises(ValidationError, match="names no bridge"):
        dspex_bridge.connect(",")


def test_failover_is_on_with_several_addresses_and_off_with_one(two_bridges):
    with dspex_bridge.connect(two_bridges.a) as one, dspex_bridge.connect(f"{two_bridges.a},{two_bridges.b}") as two:
        assert one.failover is False and one.addresses == (two_bridges.a,)
        assert two.failover is True and two.addresses == (two_bridges.a, two_bridges.b)
        assert two.address == two_bridges.a  # the first address, when it is up
    with dspex_bridge.connect(two_bridges.a, failover=True) as forced:
        assert forced.failover is True


def test_connect_starts_on_the_first_reachable_address(two_bridges):
    dead = _closed_port_address()
    with dspex_bridge.connect([dead, two_bridges.b], timeout=5) as client:
        assert client.address == two_bridges.b
        ctx = client.session()
        ctx.register("x", "integer", 1)
        assert ctx.get("x") == 1 and client.failovers == 0


def test_connect_fails_when_no_address_is_reachable():
    first, second = _closed_port_address(), _closed_port_address()
    with pytest.raises(UnavailableError, match="not reachable") as failure:
        dspex_bridge.connect(f"{first},{second}", timeout=0.5)
    assert first in str(failure.value) and second in str(failure.value)


def test_calls_move_to_the_next_bridge_when_the_current_one_stops(two_bridges):
    client = dspex_bridge.connect([two_bridges.a, two_bridges.b], timeout=5)
    ctx = client.session("moving")
    ctx.register("temperature", "float", 0.5)
    assert client.address == two_bridges.a
    two_bridges.stop("a")
    assert ctx.get("temperature") == 0.5  # a read, retried on B
    assert client.address == two_bridges.b and client.failovers == 1
    assert ctx.set("temperature", 0.75) == 2
    assert ctx.update_many({"temperature": 0.8}) == {"temperature": 3}
    assert [r.name for r in ctx.list()] == ["temperature"] and ctx.heartbeat() is True
    with dspex_bridge.connect(two_bridges.b) as direct:  # the shared store holds every write once
        assert direct.session("moving", create=False).get_record("temperature").version == 3
    assert client.failovers == 1  # B answers: the client stays on it
    client.close()


def test_errors_other_than_unavailable_are_not_retried(two_bridges):
    client = dspex_bridge.connect([two_bridges.a, two_bridges.b], timeout=5)
    ctx = client.session()
    ctx.register("n", "integer", 1, constraints={"min": 0})
    sent = []
    for endpoint in client._endpoints:
        real = endpoint.stub.SetVariable
        endpoint.stub.SetVariable = lambda request, real=real, **kw: sent.append(request) or real(request, **kw)
    with pytest.raises(ValidationError):
        ctx.set("n", -1)
    with pytest.raises(NotFoundError):
        ctx.get("missing")
    with pytest.raises(dspex_bridge.VersionConflictError):
        ctx.set("n", 2, expected_version=7)
    assert len(sent) == 2 and client.failovers == 0 and client.address == two_bridges.a
    client.close()


def test_with_every_bridge_down_a_call_fails_within_its_deadline(two_bridges):
    client = dspex_bridge.connect([two_bridges.a, two_bridges.b], timeout=1.5)
    ctx = client.session()
    ctx.register("x", "integer", 1)
    two_bridges.stop("a")
    two_bridges.stop("b")
    started = time.monotonic()
    with pytest.raises(UnavailableError, match="attempts on") as failure:
        ctx.get("x")
    elapsed = time.monotonic() - started
    assert 0.5 < elapsed < 3.0, f"gave up after {elapsed:.2f} s with a 1.5 s deadline"
    assert failure.value.code == grpc.StatusCode.UNAVAILABLE
    assert client.failovers >= 2  # round robin: A, B, A, ...
    client.close()


def test_each_write_carries_its_own_request_id_and_a_retry_the_same(two_bridges):
    client = dspex_bridge.connect([two_bridges.a, two_bridges.b], timeout=5)
    ctx = client.session()
    ctx.register("x", "integer", 0)
    sets = _lose_first_answer(client, "SetVariable")
    batches = _lose_first_answer(client, "SetVariables")
    ctx.set("x", 1)
    ctx.set("x", 2)
    ctx.update_many({"x": 3})
    ctx.update_many({"x": 4})
    ids = [request.request_id for request in sets]
    assert len(ids) == 3 and ids[0] == ids[1] != ids[2]  # the lost one sent twice, with one id
    assert all(len(i) == 32 for i in ids)
    batch_ids = [request.request_id for request in batches]
    assert len(batch_ids) == 3 and batch_ids[0] == batch_ids[1] != batch_ids[2]
    assert sets[0] == sets[1] and batches[0] == batches[1]  # the very same request
    client.close()


def test_a_register_whose_answer_was_lost_answers_the_variable(two_bridges):
    client = dspex_bridge.connect([two_bridges.a, two_bridges.b], timeout=5)
    ctx = client.session()
    sent = _lose_first_answer(client, "RegisterVariable")
    var_id = ctx.register("temperature", "float", 0.7, constraints={"min": 0.0, "max": 2.0})
    # The retry carried the first attempt's request id, and the bridge answered its id again.
    assert len(sent) == 2 and sent[0].request_id == sent[1].request_id != ""
    record = ctx.get_record("temperature")
    assert record.id == var_id and record.version == 1 and ctx.get(var_id) == 0.7
    client.close()


def test_a_register_whose_answer_was_lost_answers_its_id_even_once_written_since(two_bridges):
    # Without request ids the retry's ALREADY_EXISTS could not be told from someone else's name
    # once the variable changed; with them the bridge answers the first attempt's outcome.
    client = dspex_bridge.connect([two_bridges.a, two_bridges.b], timeout=5)
    ctx = client.session()
    with dspex_bridge.connect(two_bridges.b) as other_client:
        other = other_client.session(ctx.session_id, create=False)
        _lose_first_answer(client, "RegisterVariable", after=lambda: other.set("lr", 0.5))
        var_id = ctx.register("lr", "float", 0.1)
    assert ctx.get_record("lr").id == var_id and ctx.get("lr") == 0.5
    client.close()


def test_a_register_after_a_lost_attempt_refuses_a_name_someone_else_took(two_bridges):
    client = dspex_bridge.connect([two_bridges.a, two_bridges.b], timeout=5)
    ctx = client.session()
    with dspex_bridge.connect(two_bridges.b) as other_client:
        other = other_client.session(ctx.session_id, create=False)
        _lose_first_answer(client, "RegisterVariable", instead=lambda: other.register("model", "string", "claude"))
        with pytest.raises(AlreadyExistsError, match="may or may not"):
            ctx.register("model", "string", "gpt-4")
    assert ctx.get("model") == "claude"  # the other's variable, untouched
    client.close()


def test_a_delete_whose_answer_was_lost_succeeds(two_bridges):
    client = dspex_bridge.connect([two_bridges.a, two_bridges.b], timeout=5)
    ctx = client.session()
    ctx.register("x", "integer", 1)
    sent = _lose_first_answer(client, "DeleteVariable")
    ctx.delete("x")
    assert len(sent) == 2 and ctx.get("x", None) is None
    with pytest.raises(NotFoundError):  # without an earlier lost attempt, NOT_FOUND stays an error
        ctx.delete("x")
    client.close()


def test_a_delete_whose_answer_was_lost_leaves_a_variable_made_again_since(two_bridges):
    # The retry is the first deletion answered again, not a second one of the new variable.
    client = dspex_bridge.connect([two_bridges.a, two_bridges.b], timeout=5)
    ctx = client.session()
    ctx.register("x", "integer", 1)
    with dspex_bridge.connect(two_bridges.b) as other_client:
        other = other_client.session(ctx.session_id, create=False)
        sent = _lose_first_answer(client, "DeleteVariable", after=lambda: other.register("x", "integer", 2))
        ctx.delete("x")
        assert len(sent) == 2 and sent[0].request_id == sent[1].request_id != ""
        assert other.get("x") == 2
    client.close()


def test_an_initialize_whose_answer_was_lost_joins_the_session(two_bridges):
    client = dspex_bridge.connect([two_bridges.a, two_bridges.b], timeout=5)
    _lose_first_answer(client, "InitializeSession")
    ctx = client.session("made-once")
    assert ctx.created is False and ctx.info()["session_id"] == "made-once"
    client.close()


@pytest.mark.parametrize("cursor", ["m0.0:1", "not-a-cursor-of-this-store"])
def test_a_watch_that_cannot_resume_catches_up_without_repeating_itself(two_bridges, cursor):
    writer_client = dspex_bridge.connect(two_bridges.b, timeout=5)
    writer = writer_client.session("caught-up")
    writer.register("a", "integer", 0)
    writer.register("b", "integer", 0)
    client = dspex_bridge.connect([two_bridges.a, two_bridges.b], timeout=5)
    with client.session("caught-up", create=False).watch(["a", "b"]) as watch:
        assert {u.name for u in watch.take(2)} == {"a", "b"}
        writer.set("a", 1)
        assert watch.next(timeout=5).version == 2
        # A cursor of an earlier store (the bridge cannot resume it), or one the bridge cannot read
        # (INVALID_ARGUMENT): either way the watch catches up from a snapshot.
        watch.cursor = cursor
        two_bridges.stop("a")
        writer.set("a", 2)
        heard = watch.next(timeout=5)  # a at version 3, once: live, or in the snapshot
        assert heard.name == "a" and heard.version == 3 and heard.kind in ("value_change", "initial_value")
        writer.set("b", 1)  # b's snapshot entry (version 1, delivered already) was skipped
        heard = watch.next(timeout=5)
        assert (heard.kind, heard.name, heard.version) == ("value_change", "b", 2)
        assert watch.catch_ups == 1 and watch.resumes == 0
    client.close()
    writer_client.close()


def test_a_set_whose_answer_was_lost_applies_once(two_bridges):
    client = dspex_bridge.connect([two_bridges.a, two_bridges.b], timeout=5)
    ctx = client.session()
    ctx.register("x", "integer", 0)
    _lose_first_answer(client, "SetVariable")
    assert ctx.set("x", 1) == 2  # applied on A, answered by B from the stored outcome
    assert client.address == two_bridges.b
    record = ctx.get_record("x")
    assert (record.value, record.version) == (1, 2)
    assert [r.version for r in ctx.history("x")] == [2, 1]
    client.close()


def test_an_update_many_whose_answer_was_lost_applies_once(two_bridges):
    client = dspex_bridge.connect([two_bridges.a, two_bridges.b], timeout=5)
    ctx = client.session()
    ctx.register("a", "integer", 0)
    ctx.register("b", "integer", 0)
    _lose_first_answer(client, "SetVariables")
    assert ctx.update_many({"a": 1, "b": 2}) == {"a": 2, "b": 2}
    assert {n: r.version for n, r in ctx.get_records(["a", "b"]).items()} == {"a": 2, "b": 2}
    client.close()


def test_a_watch_resumes_on_the_next_bridge_without_repeats_or_gaps(two_bridges):
    writer_client = dspex_bridge.connect(two_bridges.b, timeout=5)
    writer = writer_client.session("watched")
    writer.register("x", "integer", 0)
    client = dspex_bridge.connect(f"{two_bridges.a},{two_bridges.b}", timeout=5)
    with client.session("watched", create=False).watch("x") as watch:
        assert watch.next(timeout=5).kind == "initial_value"
        writer.set("x", 1)
        heard = watch.next(timeout=5)
        assert (heard.kind, heard.version) == ("value_change", 2) and heard.cursor
        two_bridges.stop("a")
        for value in range(2, 6):  # while the watch moves to B
            writer.set("x", value)
        updates = watch.take(4, timeout=5)
        assert [(u.kind, u.version, u.value) for u in updates] == [("value_change", v + 1, v) for v in range(2, 6)]
        assert watch.resumes == 1 and watch.catch_ups == 0
        with pytest.raises(TimeoutError):  # nothing twice
            watch.next(timeout=0.3)
    assert client.address == two_bridges.b
    client.close()
    writer_client.close()


def test_the_read_cache_resumes_on_the_next_bridge_and_stays_coherent(two_bridges):
    writer_client = dspex_bridge.connect(two_bridges.b, timeout=5)
    writer = writer_client.session("cached")
    writer.register("x", "integer", 0)
    writer.register("y", "integer", 0)
    client = dspex_bridge.connect([two_bridges.a, two_bridges.b], timeout=5)
    ctx = client.session("cached", create=False)
    cache = ctx.enable_cache()
    assert cache.wait_until_cached("x", "y")
    writer.set("x", 1)
    assert cache.wait_until_cached("x", version=2)
    two_bridges.stop("a")
    assert ctx.set("y", 5) == 2  # own write through B while the cache's stream is down
    assert ctx.get("y") == 5  # read your writes: never the held version 1
    writer.set("x", 2)
    assert cache.wait_until_cached("x", version=3, timeout=5)
    assert cache.resumes == 1 and cache.connects == 2
    hits = cache.hits
    assert ctx.get("x") == 2 and ctx.get("y") == 5 and cache.hits == hits + 2  # no snapshot needed
    client.close()
    writer_client.close()


@pytest.mark.parametrize("cursor", ["m0.0:1", "not-a-cursor-of-this-store"])
def test_a_read_cache_that_cannot_resume_is_rebuilt_from_the_snapshot(two_bridges, cursor):
    writer_client = dspex_bridge.connect(two_bridges.b, timeout=5)
    writer = writer_client.session("rebuilt")
    writer.register("x", "integer", 0)
    client = dspex_bridge.connect([two_bridges.a, two_bridges.b], timeout=5)
    ctx = client.session("rebuilt", create=False)
    cache = ctx.enable_cache()
    writer.set("x", 1)
    assert cache.wait_until_cached("x", version=2)
    cache._cursor = cursor  # as in the watch test above
    two_bridges.stop("a")
    writer.set("x", 2)
    assert cache.wait_until_cached("x", version=3, timeout=5)
    assert ctx.get("x") == 2 and cache.resumes == 0 and cache.connects >= 2
    client.close()
    writer_client.close()


def test_a_worker_keeps_writing_through_b_when_a_stops_mid_run(two_bridges):
    """Bridge A stops in the middle of a run: the worker goes on through B, every write applied
    exactly once, and a watcher (also moved to B) hears each change once, in order."""
    total, stop_after = 120, 40
    worker_client = dspex_bridge.connect([two_bridges.a, two_bridges.b], timeout=5)
    watcher_client = dspex_bridge.connect(f"{two_bridges.a},{two_bridges.b}", timeout=5)
    worker = worker_client.session("run")
    worker.register("step", "integer", 0)
    worker.register("score", "float", 0.0)
    watch = watcher_client.session("run", create=False).watch(["step", "score"])
    assert len(watch.take(2)) == 2
    versions, batches, failures = [], [], []
    halfway = threading.Event()

    def work():
        try:
            for step in range(1, total + 1):
                versions.append(worker.set("step", step))
                batches.append(worker.update_many({"score": step / 10}))
                if step == stop_after:
                    halfway.set()
        except Exception as error:  # reported by the assertion below
            failures.append(error)
            halfway.set()

    thread = threading.Thread(target=work)
    thread.start()
    assert halfway.wait(30)
    two_bridges.stop("a")  # while the worker writes
    thread.join(60)
    assert not failures, failures
    assert versions == list(range(2, total + 2))  # one version per write: none applied twice
    assert batches == [{"score": step + 1} for step in range(1, total + 1)]
    assert worker_client.address == two_bridges.b and worker_client.failovers == 1
    heard = {"step": [], "score": []}
    while len(heard["step"]) < total or len(heard["score"]) < total:
        update = watch.next(timeout=10)
        heard[update.name].append((update.kind, update.version, update.value))
    assert heard["step"] == [("value_change", step + 1, step) for step in range(1, total + 1)]
    assert heard["score"] == [("value_change", step + 1, step / 10) for step in range(1, total + 1)]
    with pytest.raises(TimeoutError):
        watch.next(timeout=0.3)
    assert watch.resumes == 1 and watch.catch_ups == 0 and watcher_client.address == two_bridges.b
    watch.cancel()
    worker_client.close()
    watcher_client.close()
