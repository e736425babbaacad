#!/bin/sh
# Regenerates dspex_bridge/_generated/snakepit_bridge_pb2.py from the repo's one .proto.
# Uses the system protoc (3.21) so the output runs on protobuf 3.21+ (Debian python3-protobuf).
# Service stubs are hand-written (dspex_bridge/_stubs.py): no grpc python plugin is needed.
#
# The Python copy gets its own proto identity (file dspex_bridge/_generated/snakepit_bridge.proto,
# package dspex_bridge.wire), so it loads into the default descriptor pool next to Snakepit's own
# snakepit_bridge_pb2 ("A file with this name is already in the pool" otherwise). The wire is the
# same: field numbers decide the bytes, and the method paths are spelled in _stubs.py.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
proto_dir="$here/../proto"
out="${OUT_DIR:-$here/dspex_bridge/_generated}"
PROTOC=${PROTOC:-/usr/bin/protoc}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out" "$work/dspex_bridge/_generated"
source="$work/dspex_bridge/_generated/snakepit_bridge.proto"
sed 's/^package snakepit\.bridge;$/package dspex_bridge.wire;/' "$proto_dir/snakepit_bridge.proto" >"$source"
grep -q '^package dspex_bridge\.wire;$' "$source" || { echo "generate.sh: no 'package snakepit.bridge;' line in the .proto" >&2; exit 1; }
"$PROTOC" --version
"$PROTOC" -I "$work" --python_out="$work" "$source"
mv "$work/dspex_bridge/_generated/snakepit_bridge_pb2.py" "$out/snakepit_bridge_pb2.py"
# protoc emits an absolute module import for sibling protos; this proto only imports well-known
# types, so the output is self-contained.
test -f "$out/__init__.py" || printf '"""Generated protobuf modules (scripts/generate.sh); do not edit."""\n' >"$out/__init__.py"
echo "generated $out/snakepit_bridge_pb2.py"
