#!/bin/sh
# Runs the Python client's pytest suite against real dspex-bridge servers (started by the tests).
# Needs the package built (bin/dspex-bridge.js loads dist/cli.js): when dist is missing (a clean
# clone; turbo's test task only builds dependencies) it runs the package's own build first,
# under the repo's build lock. Writes JUnit XML to
# packages/bridged-state/test-results/pytest.xml and exits with pytest's status; "no tests
# collected" (5) counts as a failure.
set -u
here=$(cd "$(dirname "$0")" && pwd)
cd "$here" || exit 1
PYTHON=${PYTHON:-/usr/bin/python3}
if [ ! -f ../dist/cli.js ]; then
  echo "run-tests.sh: no dist/cli.js; building @dspex/bridged-state (tsup)" >&2
  if ! (cd .. && flock -w 300 /tmp/build.lock npx --no-install tsup >&2); then
    echo "run-tests.sh: build failed; from the repo root run:" >&2
    echo "  flock /tmp/build.lock npx pnpm@10.34.9 exec turbo run build --filter=@dspex/bridged-state..." >&2
    exit 1
  fi
fi
mkdir -p ../test-results
"$PYTHON" -m pytest --junitxml=../test-results/pytest.xml "$@"
status=$?
if [ "$status" -eq 5 ]; then
  echo "run-tests.sh: pytest collected no tests" >&2
  exit 1
fi
exit "$status"
