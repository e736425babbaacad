"""Python client through the bridge vs a raw grpcio call, same server, same run.

Starts its own dspex-bridge server (127.0.0.1, ephemeral port), then measures the operations
call by call in turn, in a fresh random order every turn (a fixed order favours whatever follows
the same call), so machine noise and drift hit every operation alike:
  raw Ping          -- a pre-built grpcio multi-callable of the trivial Ping method (baseline)
  raw GetVariable   -- the same for GetVariable (the server's own cost of a read)
  client get        -- ctx.get(name): request, decode, typed errors
  client set        -- ctx.set(name, value): encode, metadata, new version
  cached get        -- ctx.get(name) with enable_cache(): served from the watch-fed cache
                       (between the RPCs above, and again back to back in a loop)
Then the cache's staleness: from another client's set returning (the write committed) until the
cache serves the new value, with the main thread waiting, and with it busy in Python code.
Targets (issue 5): client get p50 within 1.2x of raw Ping; cached get under 5 us.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

import dspex_bridge  # noqa: E402
from bridge_process import BridgeProcess  # noqa: E402
from dspex_bridge import pb  # noqa: E402


def measure_interleaved(operations, count):
    """count samples (ns) per operation, taking one call of each operation in turn."""
    clock = time.perf_counter_ns
    names = list(operations)
    pairs = [(operations[name], []) for name in names]
    order = list(pairs)
    for _ in range(count):
        random.shuffle(order)
        for fn, out in order:
            start = clock()
            fn()
            out.append(clock() - start)
    return dict(zip(names, (out for _, out in pairs)))


def measure_staleness(writer, cache, name, count, busy):
    """us from the writer's set returning until the cache serves its version."""
    clock = time.perf_counter_ns
    out = []
    for i in range(count):
        version = writer.set(name, 0.5 + (i % 100) / 1000)
        done = clock()
        if busy:
            # The main thread runs Python code and looks between steps, as an application would.
            x = 0
            while (cache.cached_version(name) or 0) < version:
                for k in range(200):
                    x += k
        elif not cache.wait_until_cached(name, version=version, timeout=5):
            raise RuntimeError("the cache did not see a write within 5 s")
        out.append(clock() - done)
    return out


def summarize(samples_ns):
    ordered = sorted(samples_ns)
    p50 = ordered[len(ordered) // 2] / 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] / 1000
    mean = statistics.fmean(ordered) / 1000
    return p50, p99, 1e6 / mean


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=3000, help="calls per operation")
    args = parser.parse_args()

    server = BridgeProcess()
    try:
        client = dspex_bridge.connect(server.address)
        ctx = client.session("bench")
        ctx.register("temperature", "float", 0.7)
        ctx.register("cached_temperature", "float", 0.7)
        session_id = ctx.session_id
        md = client.call_metadata
        ping_request = pb.PingRequest(message="ping")
        get_request = pb.GetVariableRequest(session_id=session_id, variable_identifier="temperature", prefer_binary=True)
        raw_ping = client.stub.Ping
        raw_get = client.stub.GetVariable

        cached_ctx = client.session("bench")  # a second context on the same session, with a cache
        cache = cached_ctx.enable_cache("cached_temperature")
        if not cache.wait_until_cached("cached_temperature"):
            print("cache did not fill", file=sys.stderr)
            return 1
        values = iter(range(10**9))
        operations = {
            "raw Ping (baseline)": lambda: raw_ping(ping_request, timeout=10, metadata=md),
            "raw GetVariable": lambda: raw_get(get_request, timeout=10, metadata=md),
            "client get": lambda: ctx.get("temperature"),
            "client set": lambda: ctx.set("temperature", 0.5 + (next(values) % 100) / 1000),
            "cached get": lambda: cached_ctx.get("cached_temperature"),
        }
        measure_interleaved(operations, 300)  # warm up the channel and the server's code paths
        samples = measure_interleaved(operations, args.count)
        # The same cached read back to back (warm CPU caches, no RPC in between).
        samples["cached get (loop)"] = measure_interleaved({"loop": operations["cached get"]}, args.count)["loop"]
        if cache.misses:
            print(f"warning: {cache.misses} cached reads went to the server", file=sys.stderr)
        stale_count = max(200, args.count // 5)
        measure_staleness(ctx, cache, "cached_temperature", 50, busy=False)  # warm up
        staleness = {
            "main thread waiting": measure_staleness(ctx, cache, "cached_temperature", stale_count, busy=False),
            "main thread busy": measure_staleness(ctx, cache, "cached_temperature", stale_count, busy=True),
        }
        client.close()
    finally:
        code = server.stop()
    if code != 0:
        print(f"dspex-bridge exited {code}", file=sys.stderr)
        return 1

    results = {name: summarize(s) for name, s in samples.items()}
    base_p50 = results["raw Ping (baseline)"][0]
    print(f"dspex_bridge client benchmark: {args.count} calls each, interleaved, "
          f"Python {sys.version.split()[0]}, grpcio {__import__('grpc').__version__}")
    print(f"{'operation':<22}{'p50 us':>10}{'p99 us':>10}{'ops/s':>10}{'p50 / raw Ping':>16}")
    for name, (p50, p99, ops) in results.items():
        print(f"{name:<22}{p50:>10.1f}{p99:>10.1f}{ops:>10.0f}{p50 / base_p50:>15.2f}x")
    get_ratio = results["client get"][0] / base_p50
    cached_p50 = results["cached get"][0]
    client_cost = results["client get"][0] / results["raw GetVariable"][0]
    print()
    print(f"client get vs raw GetVariable (the client's own overhead): {client_cost:.2f}x")
    print(f"target client get p50 <= 1.2x raw Ping: {get_ratio:.2f}x  {'MET' if get_ratio <= 1.2 else 'MISSED'}")
    print(f"target cached get p50 < 5 us: {cached_p50:.2f} us  {'MET' if cached_p50 < 5 else 'MISSED'}")
    print()
    print("cache staleness: another context's set returned -> the cache serves its version")
    for name, samples in staleness.items():
        p50, p99, _ = summarize(samples)
        print(f"  {name:<22} p50 {p50:>8.0f} us  p99 {p99:>8.0f} us  max {max(samples) / 1000:>8.0f} us")
    write_goals(results, staleness)
    return 0


def write_goals(results, staleness):
    """The goals `pnpm bench` prints in its closing table (bench-summary.mjs)."""
    base = results["raw Ping (baseline)"][0]
    get = results["client get"][0]
    cached = results["cached get"][0]
    waiting = summarize(staleness["main thread waiting"])
    busy = summarize(staleness["main thread busy"])
    goals = [
        {"operation": "Python client get (p50)", "measured": f"{get:.0f} µs",
         "baseline": f"raw grpcio Ping: {base:.0f} µs", "ratio": f"{get / base:.2f}×",
         "goal": "≤ 1.2×", "met": get / base <= 1.2},
        {"operation": "Python cached get (p50)", "measured": f"{cached:.2f} µs",
         "baseline": "-", "ratio": f"{cached:.2f} µs", "goal": "< 5 µs", "met": cached < 5},
        # Reported, not a goal: the README states these figures (the cache's documented staleness).
        {"operation": "Python cache staleness p99 (waiting / busy main thread)",
         "measured": f"{waiting[1] / 1000:.2f} ms / {busy[1] / 1000:.2f} ms",
         "baseline": f"p50 {waiting[0]:.0f} µs / {busy[0]:.0f} µs", "ratio": "-",
         "goal": "reported (README: 'Read cache')", "met": None},
    ]
    out = HERE.parent.parent / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "python.json").write_text(json.dumps(goals, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    sys.exit(main())
