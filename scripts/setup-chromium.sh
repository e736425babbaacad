#!/usr/bin/env bash
# Makes sure Debian's chromium is at /usr/bin/chromium: the inspector's browser test drives it
# with playwright-core, which downloads no browser. Installs it with apt-get when we are root;
# otherwise prints the exact command to run and fails.
set -euo pipefail
CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  exit 0
fi

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "setup-chromium: installing chromium with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq chromium >&2
  test -x "$CHROMIUM"
  exit 0
fi

cat >&2 <<MSG
setup-chromium: $CHROMIUM is missing (the inspector's browser test needs it).
Install Debian's package, then run the command again:

  sudo apt-get update && sudo apt-get install -y chromium
MSG
exit 1
