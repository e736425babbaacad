#!/bin/sh
# Builds @dspex/bridged-state (tsup) when dist/cli.js is missing: the tests and the benchmark
# start the bridge through bin/dspex-bridge.js, which needs it. Through turbo it is always built.
set -u
package=$(cd "$(dirname "$0")/../.." && pwd)
[ -f "$package/dist/cli.js" ] && exit 0
echo "dspex_bridge: no dist/cli.js; building @dspex/bridged-state (tsup)" >&2
if ! (cd "$package" && npx --no-install tsup >&2); then
  echo "dspex_bridge: build failed; from the repo root run: npm test" >&2
  exit 1
fi
