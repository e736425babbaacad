"""The optimizer worker of the DSPex example app (apps/example).

The TypeScript program started this process after switching its Context to the bridged
backend. It joins that session over gRPC with the dspex_bridge client, reads the four tuned
variables (and their constraints, which bound the search), then runs a seeded random search.
An improvement is written as one atomic batch, compare-and-set against the versions the candidate
was evaluated on; when TypeScript changed a variable meanwhile, nothing is written (BatchUpdateError)
and the worker re-reads, re-checks and retries.

Input (environment, so the token never shows in `ps`):
  DSPEX_BRIDGE_ADDRESS    host:port of the bridge server, or several bridges on one store
                          ("a:1,b:2"): the client then fails over between them
  DSPEX_BRIDGE_TOKEN      bearer token (optional)
  DSPEX_SESSION_ID        the Context's session
  DSPEX_OPTIMIZER_CONFIG  JSON: {"trials", "seed", "evalDelayMs", "latencySamples", "scoring"}
                          and, when several workers share the session, "worker" (its name)

Output: one JSON object per line on stdout ("event": ready, latency, trial, write, conflict,
failover, done, error); the TypeScript side relays them as progress.
"""

import json
import math
import os
import random
import signal
import sys
import threading
import time
import traceback

from dspex_bridge import BatchUpdateError, BridgeError, connect

TUNED = ("temperature", "max_tokens", "model", "system_prompt")
WRITE_ATTEMPTS = 4


def emit(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


def score(values, p):
    """Same formula as score() in apps/example/src/program.ts: the optimizer evaluates
    candidates here, in Python, as a real DSPy optimizer would; the numbers come from TypeScript."""
    w = p["weights"]
    temperature = 1 - abs(values["temperature"] - p["temperatureOptimum"]) / 2
    distance = abs(math.log2(values["max_tokens"]) - math.log2(p["maxTokensOptimum"]))
    max_tokens = max(0, 1 - distance / 8)
    model = p["modelQuality"].get(values["model"], 0)
    prompt = values["system_prompt"].lower()
    hits = len([keyword for keyword in p["promptKeywords"] if keyword in prompt])
    over_length = max(0, len(prompt) - p["promptIdealLength"]) / p["promptIdealLength"]
    prompt_term = max(0, hits / len(p["promptKeywords"]) - 0.5 * over_length)
    return (w["temperature"] * temperature + w["maxTokens"] * max_tokens
            + w["model"] * model + w["prompt"] * prompt_term)


def exit_when_parent_goes_away():
    """The parent keeps our stdin open; EOF means it is gone (even killed with SIGKILL), and an
    orphaned optimizer must not keep running."""
    def watch_stdin():
        while sys.stdin.buffer.read(4096):
            pass
        os._exit(1)

    threading.Thread(target=watch_stdin, daemon=True).start()


def read_snapshot(session):
    """The four records: the values a candidate is evaluated against, and their versions."""
    return {name: session.get_record(name) for name in TUNED}


def values_of(snapshot):
    return {name: record.value for name, record in snapshot.items()}


def propose(rng, snapshot, p):
    """Changes one or two variables at random, within the constraints they were registered with."""
    candidate = values_of(snapshot)
    for name in rng.sample(TUNED, rng.choice((1, 2))):
        limits = snapshot[name].constraints
        if name == "temperature":
            candidate[name] = round(rng.uniform(limits["min"], limits["max"]), 2)
        elif name == "max_tokens":
            low, high = math.log2(limits["min"]), math.log2(limits["max"])
            candidate[name] = int(round(2 ** rng.uniform(low, high) / 16)) * 16 or limits["min"]
        elif name == "model":
            candidate[name] = rng.choice(limits["choices"])
        else:
            fragments = [f for f in p["promptFragments"] if rng.random() < 0.4]
            prompt = " ".join([p["promptBase"], *fragments])
            candidate[name] = prompt[: limits.get("max_length", len(prompt))]
    return candidate


def write_improvement(session, candidate, candidate_score, snapshot, trial, config, stats):
    """Writes the changed variables in one atomic batch, compare-and-set against `snapshot`: all
    or nothing, so the program never runs a half-applied candidate. When TypeScript wrote one of
    them meanwhile, the evaluation was based on stale values: re-read, and retry only if the
    candidate still wins."""
    p = config["scoring"]
    for _attempt in range(WRITE_ATTEMPTS):
        current = values_of(snapshot)
        if candidate_score <= score(current, p):
            return False
        changes = {name: candidate[name] for name in TUNED if candidate[name] != current[name]}
        metadata = {"source": "python", "trial": str(trial)}
        if "worker" in config:
            # One tag per write, so a history can show each write landed exactly once.
            metadata.update(worker=config["worker"], write=f"{config['worker']}/trial-{trial}")
        try:
            versions = session.update_many(
                changes, atomic=True,
                expected_versions={name: snapshot[name].version for name in changes},
                metadata=metadata)
        except BatchUpdateError as failure:
            fresh = read_snapshot(session)
            moved = [name for name in changes if fresh[name].version != snapshot[name].version]
            if not moved:  # nobody wrote meanwhile: not a lost race but a real failure
                raise
            stats["conflicts"] += 1
            emit("conflict", trial=trial, message=failure.errors.get(moved[0], str(failure)),
                 current_version=fresh[moved[0]].version)
            snapshot = fresh
            continue
        for name, version in versions.items():
            stats["writes"] += 1
            emit("write", trial=trial, name=name, version=version)
        return True
    return False


def optimize(client, session, config, stats):
    p = config["scoring"]
    bridge = client.address
    rng = random.Random(config["seed"])
    best, best_score = None, -1.0
    trials = config["trials"]
    for trial in range(1, trials + 1):
        snapshot = read_snapshot(session)
        candidate = propose(rng, snapshot, p)
        time.sleep(config["evalDelayMs"] / 1000)  # the pretend LLM evaluation of the candidate
        candidate_score = score(candidate, p)
        if write_improvement(session, candidate, candidate_score, snapshot, trial, config, stats):
            stats["improvements"] += 1
        if client.address != bridge:  # a bridge died: the client moved the calls to another
            emit("failover", trial=trial, previous=bridge, address=client.address,
                 failovers=client.failovers)
            bridge = client.address
        if candidate_score > best_score:
            best, best_score = candidate, candidate_score
        emit("trial", trial=trial, trials=trials, score=candidate_score, best=best_score)
    return best, best_score


def measure_get_p50_us(session, samples):
    """Median round trip of a GetVariable over gRPC, as this worker sees it."""
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        session.get("temperature", fresh=True)
        timings.append((time.perf_counter() - started) * 1e6)
    timings.sort()
    return timings[len(timings) // 2]


def main():
    # Ctrl-C in a terminal reaches the whole process group. The TypeScript parent decides when
    # we stop (it sends SIGTERM); if it is gone, stdin reaches EOF and we exit anyway.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_when_parent_goes_away()
    config = json.loads(os.environ["DSPEX_OPTIMIZER_CONFIG"])
    emit("ready", pid=os.getpid())
    stats = {"writes": 0, "conflicts": 0, "improvements": 0}
    try:
        with connect(os.environ["DSPEX_BRIDGE_ADDRESS"],
                     token=os.environ.get("DSPEX_BRIDGE_TOKEN") or None, timeout=5.0) as client:
            session = client.session(os.environ["DSPEX_SESSION_ID"], create=False)
            emit("latency", get_p50_us=measure_get_p50_us(session, config["latencySamples"]),
                 address=client.address)
            best, best_score = optimize(client, session, config, stats)
    except BridgeError as error:
        emit("error", message=f"{type(error).__name__}: {error}")
        return 1
    emit("done", best=best, best_score=best_score, failovers=client.failovers, **stats)
    return 0


if __name__ == "__main__":
    try:
        exit_code = main()
    except Exception:  # a bug: show it, and still exit without waiting on the stdin thread
        traceback.print_exc()
        exit_code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    # os._exit: a normal interpreter shutdown would wait on the stdin thread's blocking read.
    os._exit(exit_code)
