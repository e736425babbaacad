#!/bin/sh
# Runs bench/bench_client.py (it starts its own dspex-bridge server; needs the package built).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
exec "$PYTHON" "$here/bench/bench_client.py" "$@"
