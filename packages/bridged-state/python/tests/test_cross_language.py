"""TypeScript and Python on one session: every type both ways, the binary format both ways,
watch delivery of TypeScript writes, and compare-and-set from both languages at once."""

import math
import threading
import uuid

import pytest

from dspex_bridge import BatchUpdateError, VersionConflictError, pb

# (type, constraints, value as Python reads it, the same value as JSON on the wire)
CASES = [
    ("float", {"min": -10, "max": 10}, 0.25, 0.25),
    ("float", None, math.inf, "Infinity"),
    ("float", None, -math.inf, "-Infinity"),
    ("integer", {"min": 0}, 9007199254740991, 9007199254740991),
    ("string", {"max_length": 40}, "héllo ✓ \"quoted\"\n", "héllo ✓ \"quoted\"\n"),
    ("boolean", None, False, False),
    ("choice", {"choices": ["gpt-4", "claude"]}, "claude", "claude"),
    ("module", {"allowed_modules": ["Predict", "ChainOfThought"]}, "ChainOfThought", "ChainOfThought"),
    ("embedding", {"dimensions": 3}, [0.1, -2.5, 3.0], [0.1, -2.5, 3.0]),
    ("tensor", {"shape": [2, 3]}, {"shape": [2, 3], "data": [1.0, 2.0, 3.0, 4.5, 5.0, 6.0]},
     {"shape": [2, 3], "data": [1, 2, 3, 4.5, 5, 6]}),
]
IDS = [f"{c[0]}-{i}" for i, c in enumerate(CASES)]


def _session(client, peer):
    ctx = client.session(f"x-{uuid.uuid4().hex[:10]}")
    return ctx


@pytest.mark.parametrize("var_type, constraints, py_value, wire_value", CASES, ids=IDS)
def test_typescript_writes_python_reads_and_back(client, peer, var_type, constraints, py_value, wire_value):
    ctx = _session(client, peer)
    sid = ctx.session_id
    peer.call("register", session=sid, name="v", type=var_type, value=wire_value, constraints=constraints)
    record = ctx.get_record("v")
    assert record.type == var_type and record.value == py_value and type(record.value) is type(py_value)
    assert record.source == "typescript" and record.constraints == (constraints or {})
    # Python writes the value back (version 2); TypeScript reads the same JSON value.
    assert ctx.set("v", py_value) == 2
    seen = peer.call("get", session=sid, name="v")
    assert seen["value"] == wire_value and seen["version"] == 2
    assert seen["type_url"] == f"type.googleapis.com/snakepit.{var_type}"
    assert seen["source"] == "python" and seen["metadata"]["source"] == "python"
    ctx.cleanup()


def test_nan_crosses_both_ways(client, peer):
    ctx = _session(client, peer)
    peer.call("register", session=ctx.session_id, name="x", type="float", value="NaN")
    assert math.isnan(ctx.get("x"))
    ctx.set("x", 1.5)
    ctx.set("x", math.nan)
    assert peer.call("get", session=ctx.session_id, name="x")["value"] == "NaN"
    ctx.cleanup()


def test_large_embedding_uses_the_binary_format_both_ways(client, peer):
    ctx = _session(client, peer)
    sid = ctx.session_id
    vector = [math.sin(i) * 1e3 + i / 7 for i in range(4096)]
    ctx.register("emb", "embedding", vector, constraints={"dimensions": 4096})
    seen = peer.call("get", session=sid, name="emb", preferBinary=True)
    assert seen["binary"] is True and seen["value"] == vector
    assert seen["json"] == '{"dtype":"float64","shape":[4096]}'
    assert peer.call("get", session=sid, name="emb")["value"] == vector  # JSON for clients not asking

    reversed_vector = vector[::-1]
    peer.call("set", session=sid, name="emb", type="embedding", value=reversed_vector, binary=True)
    assert ctx.get("emb") == reversed_vector
    # The client asked for binary: check the raw answer carried it.
    raw = client.stub.GetVariable(pb.GetVariableRequest(session_id=sid, variable_identifier="emb", prefer_binary=True))
    assert len(raw.variable.binary_value) == 4096 * 8
    ctx.cleanup()


def test_large_tensor_uses_the_binary_format_both_ways(client, peer):
    ctx = _session(client, peer)
    sid = ctx.session_id
    tensor = {"shape": [16, 32], "data": [float(i) / 3 for i in range(512)]}
    ctx.register("t", "tensor", tensor)
    seen = peer.call("get", session=sid, name="t", preferBinary=True)
    assert seen["binary"] is True and seen["value"] == tensor
    doubled = {"shape": [16, 32], "data": [x * 2 for x in tensor["data"]]}
    peer.call("set", session=sid, name="t", type="tensor", value=doubled, binary=True)
    assert ctx.get("t") == doubled
    assert ctx.list("t")[0].value == doubled and ctx.get_many(["t"]) == {"t": doubled}
    ctx.cleanup()


def test_float32_binary_values_are_read(client):
    import struct

    ctx = client.session()
    values = [0.5 * i for i in range(300)]
    header = b'{"dtype":"float32","shape":[300]}'
    request = pb.RegisterVariableRequest(
        session_id=ctx.session_id, name="e32", type="embedding",
        initial_value=pb.google_dot_protobuf_dot_any__pb2.Any(type_url="type.googleapis.com/snakepit.embedding", value=header),
        initial_binary_value=struct.pack("<300f", *values),
    )
    assert client.stub.RegisterVariable(request).success
    assert ctx.get("e32") == values  # exactly representable in float32
    ctx.cleanup()


def test_watch_delivers_typescript_writes_in_order(client, peer):
    ctx = _session(client, peer)
    sid = ctx.session_id
    ctx.register("counter", "integer", 0)
    ctx.register("other", "integer", 0)
    values = list(range(1, 61))
    with ctx.watch("counter", include_initial=True) as watch:
        first = watch.next(timeout=5)
        assert (first.kind, first.value, first.version) == ("initial_value", 0, 1)
        versions = peer.call("sequence", session=sid, name="counter", type="integer", values=values)
        ctx.set("other", 1)  # not watched: must not appear
        updates = watch.take(len(values), timeout=10)
        assert [u.value for u in updates] == values
        assert [u.version for u in updates] == versions == list(range(2, 62))
        assert {u.kind for u in updates} == {"value_change"}
        assert {u.source for u in updates} == {"typescript"} and {u.name for u in updates} == {"counter"}
        assert [u.previous_value for u in updates] == [0] + values[:-1]
        with pytest.raises(TimeoutError):
            watch.next(timeout=0.3)
    ctx.cleanup()


def test_watch_pattern_deletes_registrations_and_no_initial(ctx):
    ctx.register("lm.temperature", "float", 0.1)
    ctx.register("retriever.k", "integer", 3)
    with ctx.watch("lm.*", include_initial=False) as watch:
        ctx.set("retriever.k", 4)
        ctx.set("lm.temperature", 0.2)
        ctx.register("lm.top_p", "float", 0.9)
        ctx.delete("lm.temperature")
        updates = watch.take(3, timeout=5)
    assert [(u.kind, u.name) for u in updates] == [
        ("value_change", "lm.temperature"), ("registered", "lm.top_p"), ("deleted", "lm.temperature"),
    ]
    assert updates[0].value == 0.2 and updates[2].value == 0.2  # deleted carries the last value


def test_watch_of_all_variables_and_heartbeats(start_bridge):
    import dspex_bridge

    server = start_bridge("--heartbeat-ms", "100")
    with dspex_bridge.connect(server.address) as client:
        ctx = client.session()
        ctx.register("a", "integer", 1)
        ctx.register("b", "integer", 2)
        with ctx.watch(include_heartbeats=True) as watch:
            initial = watch.take(2)
            assert sorted((u.kind, u.name, u.value) for u in initial) == [("initial_value", "a", 1), ("initial_value", "b", 2)]
            beat = watch.next(timeout=2)
            assert beat.kind == "heartbeat" and beat.variable_id == "" and beat.record is None
        with ctx.watch() as quiet:  # heartbeats are filtered by default
            quiet.take(2)
            with pytest.raises(TimeoutError):
                quiet.next(timeout=0.4)


def test_watch_cancel_closes_cleanly(ctx):
    ctx.register("a", "integer", 1)
    watch = ctx.watch()
    assert watch.next(timeout=5).kind == "initial_value"
    watch.cancel()
    assert not watch.active
    with pytest.raises(StopIteration):
        watch.next(timeout=1)
    watch.cancel()  # idempotent
    assert list(watch) == []
    ctx.set("a", 2)  # the session is untouched
    assert ctx.get("a") == 2


def test_compare_and_set_from_python_threads_and_two_typescript_writers_loses_nothing(client, peer):
    ctx = _session(client, peer)
    sid = ctx.session_id
    ctx.register("counter", "integer", 0)
    per_thread, threads, ts_count = 25, 4, 40
    conflicts = []

    def increment():
        lost = 0
        for _ in range(per_thread):
            while True:
                record = ctx.get_record("counter")
                try:
                    ctx.set("counter", record.value + 1, expected_version=record.version)
                    break
                except VersionConflictError:
                    lost += 1
        conflicts.append(lost)

    ts_done = peer.start("casIncrement", session=sid, name="counter", count=ts_count)
    remote_done = peer.start("rsCasIncrement", session=sid, name="counter", count=ts_count)
    workers = [threading.Thread(target=increment) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    ts_result = peer.result(ts_done, timeout=60)
    remote_result = peer.result(remote_done, timeout=60)
    total = per_thread * threads + 2 * ts_count
    record = ctx.get_record("counter")
    assert record.value == total and record.version == total + 1
    assert sum(conflicts) + ts_result["conflicts"] + remote_result["conflicts"] > 0  # they really did race
    ctx.cleanup()


def test_set_after_typescript_replaced_the_variable_with_another_type(client, peer):
    ctx = _session(client, peer)
    sid = ctx.session_id
    ctx.register("v", "integer", 1)
    assert ctx.set("v", 2) == 2  # the context now knows v as an integer
    peer.call("delete", session=sid, name="v")
    peer.call("register", session=sid, name="v", type="string", value="a")
    assert ctx.set("v", "b") == 2  # re-learns the type instead of failing
    assert peer.call("get", session=sid, name="v")["value"] == "b"
    ctx.cleanup()


# (type and constraints TypeScript re-registers v with, its value there, the value Python
# writes, that value as JSON on the wire)
REPLACEMENTS = [
    ("string", None, "a", "b", "b"),
    ("choice", {"choices": ["gpt-4", "claude"]}, "gpt-4", "claude", "claude"),
    ("float", None, 0.5, math.inf, "Infinity"),  # not even encodable as the old type (integer)
    ("integer", {"min": 100}, 100, 150, 150),  # same type, other constraints
]


@pytest.mark.parametrize("atomic", [True, False], ids=["atomic", "non-atomic"])
@pytest.mark.parametrize("var_type, constraints, ts_value, py_value, wire_value", REPLACEMENTS,
                         ids=[r[0] for r in REPLACEMENTS])
def test_update_many_after_typescript_replaced_the_variable(client, peer, atomic, var_type, constraints, ts_value,
                                                            py_value, wire_value):
    ctx = _session(client, peer)
    sid = ctx.session_id
    ctx.register("v", "integer", 1, constraints={"max": 10})
    ctx.register("w", "integer", 1)
    assert ctx.update_many({"v": 2, "w": 2}) == {"v": 2, "w": 2}  # the context now knows v as an integer
    peer.call("delete", session=sid, name="v")
    peer.call("register", session=sid, name="v", type=var_type, value=ts_value, constraints=constraints)
    # Re-learns v's type instead of failing; w is written exactly once.
    assert ctx.update_many({"v": py_value, "w": 3}, atomic=atomic, expected_versions={"v": 1}) == {"v": 2, "w": 3}
    seen = peer.call("get", session=sid, name="v")
    assert (seen["type"], seen["value"], seen["version"]) == (var_type, wire_value, 2)
    assert peer.call("get", session=sid, name="w")["version"] == 3
    ctx.cleanup()


def test_update_many_after_a_replacement_still_reports_real_failures(client, peer):
    # The re-learned v is written; the bad value for w fails as before and, atomic, nothing is applied.
    ctx = _session(client, peer)
    sid = ctx.session_id
    ctx.register("v", "integer", 1)
    ctx.register("w", "integer", 1, constraints={"max": 10})
    assert ctx.set("v", 2) == 2
    peer.call("delete", session=sid, name="v")
    peer.call("register", session=sid, name="v", type="string", value="a")
    with pytest.raises(BatchUpdateError) as failure:
        ctx.update_many({"v": "b", "w": 50})
    assert list(failure.value.errors) == ["w"] and failure.value.applied == {}
    assert ctx.get_many(["v", "w"]) == {"v": "a", "w": 1}
    with pytest.raises(BatchUpdateError) as failure:
        ctx.update_many({"v": "c", "w": 50}, atomic=False)
    assert list(failure.value.errors) == ["w"] and failure.value.applied == {"v": 2}
    assert ctx.get_many(["v", "w"]) == {"v": "c", "w": 1}
    ctx.cleanup()


# The same round trips through the package's own TypeScript client (RemoteState).
@pytest.mark.parametrize("var_type, constraints, py_value, wire_value", CASES, ids=IDS)
def test_remote_state_writes_python_reads_and_back(client, peer, var_type, constraints, py_value, wire_value):
    ctx = _session(client, peer)
    sid = ctx.session_id
    peer.call("rsRegister", session=sid, name="v", type=var_type, value=wire_value, constraints=constraints)
    record = ctx.get_record("v")
    assert record.type == var_type and record.value == py_value and type(record.value) is type(py_value)
    assert record.constraints == (constraints or {})
    assert ctx.set("v", py_value) == 2
    seen = peer.call("rsGet", session=sid, name="v")
    assert seen["value"] == wire_value and seen["version"] == 2 and seen["source"] == "python"
    ctx.cleanup()


def test_remote_state_large_embedding_both_ways(client, peer):
    ctx = _session(client, peer)
    sid = ctx.session_id
    vector = [math.cos(i) / (i + 1) for i in range(4096)]
    peer.call("rsRegister", session=sid, name="emb", type="embedding", value=vector)
    assert ctx.get("emb") == vector  # RemoteState sent it in binary, the server answered in binary
    ctx.set("emb", [-x for x in vector])
    assert peer.call("rsGet", session=sid, name="emb")["value"] == [-x for x in vector]
    ctx.cleanup()
