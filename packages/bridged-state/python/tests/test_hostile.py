"""Hostile input against a real server: no request stalls the bridge, refusals are clean.

Each attack runs next to a Ping loop on its own connection; the worst Ping latency it saw is
printed (run pytest with -s to read the figures) and bounded by the assertions.
"""

from __future__ import annotations

import json
import re
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List

import pytest

import dspex_bridge

GLOB_CASES = Path(__file__).resolve().parents[3] / "state-provider" / "test" / "fixtures" / "glob-cases.json"
VALID_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,255}$")


@contextmanager
def ping_loop(address: str) -> Iterator[List[float]]:
    """Pings on a separate connection while the block runs; yields the latencies (seconds)."""
    latencies: List[float] = []
    stop = threading.Event()

    def run() -> None:
        with dspex_bridge.connect(address, timeout=10) as other:
            while not stop.is_set():
                started = time.perf_counter()
                other.ping()
                latencies.append(time.perf_counter() - started)
                time.sleep(0.005)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    time.sleep(0.05)
    try:
        yield latencies
    finally:
        stop.set()
        thread.join(timeout=15)
    assert latencies, "the ping loop never got an answer"


def report(attack: str, latencies: List[float]) -> None:
    print(f"\n[hostile] {attack}: worst ping {max(latencies) * 1000:.1f} ms over {len(latencies)} pings")


def test_shared_glob_cases_against_the_server(ctx):
    cases = json.loads(GLOB_CASES.read_text())["cases"]
    for case in cases:
        names = [n for n in case["match"] + case["noMatch"] if VALID_NAME.match(n)]
        for name in names:
            if name not in ctx:
                ctx.register(name, "integer", 1)
        listed = {r.name for r in ctx.list(case["pattern"])}
        for name in case["match"]:
            if VALID_NAME.match(name):
                assert name in listed, (case["pattern"], name)
        for name in case["noMatch"]:
            assert name not in listed, (case["pattern"], name)


def test_backtracking_glob_does_not_stall_the_server(bridge, ctx):
    name = "a" * 255 + "1"
    ctx.register(name, "integer", 1)
    with ping_loop(bridge.address) as latencies:
        started = time.perf_counter()
        for _ in range(20):
            assert ctx.list("*a*a*a*b") == []
        elapsed = time.perf_counter() - started
    report("20 ListVariables *a*a*a*b over a 256-character name", latencies)
    assert elapsed < 2, elapsed
    assert max(latencies) < 0.5


def test_watchers_with_a_backtracking_glob_do_not_slow_writes(bridge, client, ctx):
    name = "a" * 255 + "1"
    ctx.register(name, "integer", 1)
    request = dspex_bridge.pb.WatchVariablesRequest(session_id=ctx.session_id, pattern="*a*a*a*b")
    watches = [client.stub.WatchVariables(request) for _ in range(4)]
    try:
        with ping_loop(bridge.address) as latencies:
            started = time.perf_counter()
            for value in range(2, 52):
                assert ctx.set(name, value) == value
            per_set = (time.perf_counter() - started) / 50
        report("50 SetVariable on a name 4 watchers match with *a*a*a*b", latencies)
        assert per_set < 0.05, per_set  # it took 1 s each with the backtracking matcher
        assert max(latencies) < 0.5
    finally:
        for watch in watches:
            watch.cancel()


def test_backtracking_string_pattern_is_linear_on_the_server(bridge, ctx):
    # The client leaves the decision to the server (RE2 there); it never runs the pattern.
    ctx.register("s", "string", "aaa", constraints={"pattern": "(a+)+$"})
    with ping_loop(bridge.address) as latencies:
        started = time.perf_counter()
        for _ in range(20):
            with pytest.raises(dspex_bridge.ValidationError, match="does not match pattern"):
                ctx.set("s", "a" * 28 + "!")
            with pytest.raises(dspex_bridge.ValidationError, match="does not match pattern"):
                ctx.set("s", "a" * 100_000 + "!")
        elapsed = time.perf_counter() - started
    report("40 SetVariable against (a+)+$ (29 and 100 001 characters)", latencies)
    assert elapsed < 3, elapsed
    assert max(latencies) < 0.5
    assert ctx.get_record("s").version == 1


@pytest.mark.parametrize("pattern", ["(?=a)", "(a)\\1", "a{2000}"])
def test_pattern_the_engine_cannot_compile_is_refused_at_registration(ctx, pattern):
    with pytest.raises(dspex_bridge.ValidationError, match="RE2 syntax"):
        ctx.register("s", "string", "a", constraints={"pattern": pattern})
    assert "s" not in ctx


def test_server_answers_whole_floats_with_a_decimal_point(client, ctx):
    ctx.register("e", "embedding", [1.0, 2.0])
    ctx.register("t", "float", 3)
    for name, raw in (("e", b"[1.0,2.0]"), ("t", b"3.0")):
        answer = client.stub.GetVariable(dspex_bridge.pb.GetVariableRequest(session_id=ctx.session_id, variable_identifier=name))
        assert answer.variable.value.value == raw
    assert ctx.get("e") == [1.0, 2.0] and isinstance(ctx.get("t"), float)


def test_lone_surrogate_round_trips_through_the_server(ctx):
    ctx.register("s", "string", "ok")
    assert ctx.set("s", "x\ud800y") == 2
    assert ctx.get("s") == "x\ud800y"


def test_limits_are_refused_with_their_names(client, ctx):
    with pytest.raises(dspex_bridge.ValidationError, match="maxSessionIdBytes = 1024"):
        client.session("s" * 1_000_000)
    with pytest.raises(dspex_bridge.ValidationError, match="maxPatternBytes = 1024"):
        ctx.list("*" * 1025)
    with pytest.raises(dspex_bridge.ValidationError, match="maxIdentifierBytes = 1024") as failure:
        ctx.get("x" * 33_000)
    assert len(str(failure.value)) < 600  # quoted shortened by server and client, not 33 000
