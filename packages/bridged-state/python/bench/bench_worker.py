"""One Python worker of the many-workers benchmark (bench/redis-bridge.bench.ts starts four).

It holds one client per configuration it is given (`--target NAME=ADDRESSES`, e.g.
`memory=127.0.0.1:5001` and `redis=127.0.0.1:5002,127.0.0.1:5003`), joins the session on each,
warms up, prints `ready`, then answers each `go NAME SECONDS` line on stdin with one JSON line:
the latencies (us) of the calls it made on that configuration for SECONDS, by operation. The
operations come in a random order from a realistic mix: a get, a set, a batch read and a batch
write of 10 variables, on variables every worker shares. `quit` (or end of input) ends it.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import dspex_bridge  # noqa: E402

# Weights of the mix: mostly single reads and writes, some batches (an optimizer step reads and
# writes a handful of parameters at once).
MIX = (("get", 50), ("set", 30), ("get_many(10)", 10), ("update_many(10)", 10))
BATCH = 10


def operations(ctx, names, rng):
    def get():
        ctx.get(rng.choice(names))

    def set_():
        ctx.set(rng.choice(names), rng.random())

    def get_many():
        ctx.get_many(rng.sample(names, BATCH))

    def update_many():
        ctx.update_many({name: rng.random() for name in rng.sample(names, BATCH)})

    return {"get": get, "set": set_, "get_many(10)": get_many, "update_many(10)": update_many}


def run(ops, rng, seconds):
    """Calls from the mix until `seconds` have passed; latencies in us, by operation."""
    names = [name for name, _ in MIX]
    weights = [weight for _, weight in MIX]
    latencies = {name: [] for name in names}
    clock = time.perf_counter_ns
    end = clock() + int(seconds * 1e9)
    while True:
        name = rng.choices(names, weights)[0]
        start = clock()
        if start >= end:
            break
        ops[name]()
        latencies[name].append(round((clock() - start) / 1000, 1))
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", action="append", required=True, help="NAME=ADDRESS[,ADDRESS...]")
    parser.add_argument("--session", required=True)
    parser.add_argument("--variables", type=int, default=20, help="names p0..pN-1, registered by the caller")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    names = [f"p{i}" for i in range(args.variables)]
    clients = []
    targets = {}
    for target in args.target:
        name, _, addresses = target.partition("=")
        client = dspex_bridge.connect(addresses)
        clients.append(client)
        ops = operations(client.session(args.session, create=False), names, rng)
        run(ops, rng, 0.3)  # warm up the channel and both sides' code paths
        targets[name] = (ops, client)
    print("ready", flush=True)
    try:
        for line in sys.stdin:
            words = line.split()
            if not words or words[0] == "quit":
                break
            if words[0] != "go" or len(words) != 3 or words[1] not in targets:
                print(json.dumps({"error": f"unexpected command {line.strip()!r}"}), flush=True)
                return 2
            ops, client = targets[words[1]]
            started = time.perf_counter()
            latencies = run(ops, rng, float(words[2]))
            print(json.dumps({
                "target": words[1],
                "seconds": time.perf_counter() - started,
                "bridge": client.address,
                "failovers": client.failovers,
                "latencies": latencies,
            }), flush=True)
    finally:
        for client in clients:
            client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
