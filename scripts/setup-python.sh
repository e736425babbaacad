#!/usr/bin/env bash
# Makes sure /usr/bin/python3 can import grpc, protobuf and pytest (Debian's packages:
# PyPI is out of reach here), and that protoc and openssl (the TLS tests make certificates)
# are there. Installs them with apt-get when we are root; otherwise prints the exact command
# to run and fails.
set -euo pipefail
PY=/usr/bin/python3
PACKAGES="python3-grpcio python3-protobuf python3-pytest protobuf-compiler openssl"

if [ -x "$PY" ] && "$PY" -c 'import grpc, google.protobuf, pytest' 2>/dev/null && command -v protoc >/dev/null && command -v openssl >/dev/null; then
  exit 0
fi

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "setup-python: installing $PACKAGES with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq $PACKAGES >&2
  "$PY" -c 'import grpc, google.protobuf, pytest'
  exit 0
fi

cat >&2 <<MSG
setup-python: /usr/bin/python3 cannot import grpc, google.protobuf and pytest.
Install Debian's packages, then run the command again:

  sudo apt-get update && sudo apt-get install -y $PACKAGES
MSG
exit 1
