#!/usr/bin/env bash
# Makes sure redis-server and redis-cli (7.0 or later) are on PATH: the Redis tests start their
# own servers and a local Cluster with them, and the benchmark one. Installs Debian's
# redis-server with apt-get when we are root; otherwise prints the exact command to run and
# fails. The package's service is never started here: tests run their own servers.
set -euo pipefail
PACKAGES="redis-server redis-tools"

have_redis() {
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null || return 1
  local version
  version="$(redis-server --version | sed -n 's/.* v=\([0-9]*\)\..*/\1/p')"
  [ -n "$version" ] && [ "$version" -ge 7 ]
}

if have_redis; then
  exit 0
fi

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "setup-redis: installing $PACKAGES with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  # policy-rc.d answering 101 keeps apt from starting the system service (tests start their
  # own servers); container images often have one already, which stays as it was.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get install -y -qq $PACKAGES >&2
  have_redis
  exit 0
fi

cat >&2 <<MSG
setup-redis: redis-server and redis-cli 7.0 or later are not on PATH.
Install Debian's packages, then run the command again:

  sudo apt-get update && sudo apt-get install -y $PACKAGES
MSG
exit 1
