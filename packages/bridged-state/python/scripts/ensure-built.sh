#!/bin/sh
# Builds @dspex/bridged-state (tsup) when dist/cli.js is missing: bin/dspex-bridge.js needs it,
# and turbo's test/bench tasks only build the package's dependencies (a clean clone has no dist).
set -u
package=$(cd "$(dirname "$0")/../.." && pwd)
[ -f "$package/dist/cli.js" ] && exit 0
echo "dspex_bridge: no dist/cli.js; building @dspex/bridged-state (tsup)" >&2
if ! (cd "$package" && flock -w 300 /tmp/build.lock npx --no-install tsup >&2); then
  echo "dspex_bridge: build failed; from the repo root run:" >&2
  echo "  flock /tmp/build.lock npx pnpm@10.34.9 exec turbo run build --filter=@dspex/bridged-state..." >&2
  exit 1
fi
