#!/bin/sh
# Runs bench/bench_client.py (it starts its own dspex-bridge server; builds a missing dist).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
"$here/scripts/ensure-built.sh"
exec "$PYTHON" "$here/bench/bench_client.py" "$@"
