#!/bin/sh
# Regenerates dspex_bridge/_generated/snakepit_bridge_pb2.py from the repo's one .proto.
# Uses the system protoc (3.21) so the output runs on protobuf 3.21+ (Debian python3-protobuf).
# Service stubs are hand-written (dspex_bridge/_stubs.py): no grpc python plugin is needed.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
proto_dir="$here/../proto"
out="${OUT_DIR:-$here/dspex_bridge/_generated}"
PROTOC=${PROTOC:-/usr/bin/protoc}
mkdir -p "$out"
"$PROTOC" --version
"$PROTOC" -I "$proto_dir" --python_out="$out" "$proto_dir/snakepit_bridge.proto"
# protoc emits an absolute module import for sibling protos; this proto only imports well-known
# types, so the output is self-contained.
test -f "$out/__init__.py" || printf '"""Generated protobuf modules (scripts/generate.sh); do not edit."""\n' >"$out/__init__.py"
echo "generated $out/snakepit_bridge_pb2.py"
