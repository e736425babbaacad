#!/bin/sh
# Runs the Python client's pytest suite against real dspex-bridge servers (started by the tests).
# Builds the package first when dist is missing (scripts/ensure-built.sh). Writes JUnit XML to
# packages/bridged-state/test-results/pytest.xml and exits with pytest's status; "no tests
# collected" (5) counts as a failure.
set -u
here=$(cd "$(dirname "$0")" && pwd)
cd "$here" || exit 1
PYTHON=${PYTHON:-/usr/bin/python3}
./scripts/ensure-built.sh || exit 1
mkdir -p ../test-results
"$PYTHON" -m pytest --junitxml=../test-results/pytest.xml "$@"
status=$?
if [ "$status" -eq 5 ]; then
  echo "run-tests.sh: pytest collected no tests" >&2
  exit 1
fi
exit "$status"
