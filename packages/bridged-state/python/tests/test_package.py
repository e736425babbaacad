"""The package itself: generated code up to date, TLS, the wire-format codec on its own."""

import filecmp
import os
import re
import subprocess
from pathlib import Path

import pytest

import dspex_bridge
from dspex_bridge import UnavailableError, codec

PYTHON_DIR = Path(__file__).resolve().parent.parent


def test_generated_code_matches_the_proto(tmp_path):
    subprocess.run([str(PYTHON_DIR / "scripts" / "generate.sh")], check=True, capture_output=True,
                   env={**os.environ, "OUT_DIR": str(tmp_path)})
    checked_in = PYTHON_DIR / "dspex_bridge" / "_generated" / "snakepit_bridge_pb2.py"
    assert filecmp.cmp(tmp_path / "snakepit_bridge_pb2.py", checked_in, shallow=False), \
        "dspex_bridge/_generated is stale: run scripts/generate.sh"


def test_tls_with_root_certificates(start_bridge, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    server = start_bridge("--tls-cert", str(cert), "--tls-key", str(key))
    with dspex_bridge.connect(server.address, root_certificates=cert.read_bytes()) as client:
        ctx = client.session()
        ctx.register("secret", "string", "over tls")
        assert ctx.get("secret") == "over tls"
    with pytest.raises(UnavailableError):  # plaintext cannot talk to a TLS server
        dspex_bridge.connect(server.address, timeout=1)


def test_binary_format_layout():
    packed, binary = codec.encode("e", "embedding", [1.0, -2.0] * 128)
    assert packed.type_url == "type.googleapis.com/snakepit.embedding"
    assert packed.value == b'{"dtype":"float64","shape":[256]}'
    assert binary[:16] == bytes.fromhex("000000000000f03f00000000000000c0")  # 1.0, -2.0 little-endian
    assert codec.decode(packed, binary) == [1.0, -2.0] * 128
    small, no_binary = codec.encode("e", "embedding", [1.0] * 255)
    assert no_binary == b"" and small.value.startswith(b"[1.0")


def test_readme_first_steps_run_as_written(bridge):
    readme = (PYTHON_DIR / "README.md").read_text()
    code = re.search(r"## First steps\n+```python\n(.*?)```", readme, re.S).group(1)
    assert '"127.0.0.1:50051"' in code and "for update in updates:" in code
    code = code.replace('"127.0.0.1:50051"', repr(bridge.address))
    # The session id must be fresh per run, and the watch loop would wait forever: the example
    # stops after the initial values.
    code = code.replace('"optimizer-run-7"', repr(f"readme-{os.getpid()}-{id(code)}"))
    code = code.replace("for update in updates:", "for update in updates.take(2):")
    printed = []
    namespace = {"print": lambda *args: printed.append(args)}
    exec(compile(code, "README.md (First steps)", "exec"), namespace)
    assert namespace["record"].value == 1.1 and namespace["version"] == namespace["record"].version
    assert sorted(printed) == [("initial_value", "model", "gpt-4", 1, "python"),
                               ("initial_value", "temperature", 1.1, 3, "python")]
    namespace["client"].close()


def test_float_values_always_carry_a_decimal_point():
    # Snakepit 0.4.1's client reads a bare 1 back as an int.
    assert codec.encode("t", "float", 1)[0].value == b"1.0"
    assert codec.encode("t", "float", 2.0)[0].value == b"2.0"
    assert codec.encode("e", "embedding", [1, 2])[0].value == b"[1.0,2.0]"
    assert codec.encode("x", "tensor", {"shape": [2], "data": [1, 2]})[0].value == b'{"shape":[2],"data":[1.0,2.0]}'
    assert codec.encode("k", "integer", 1)[0].value == b"1"
    with pytest.raises(dspex_bridge.ValidationError, match="too large for a float"):
        codec.encode("t", "float", 10 ** 400)


def test_a_lone_surrogate_is_written_as_escaped_json():
    packed, _ = codec.encode("s", "string", "a\ud800b")
    assert packed.value == b'"a\\ud800b"'
    assert codec.decode(packed) == "a\ud800b"
    assert codec.encode("s", "string", "é")[0].value == "\"é\"".encode()  # UTF-8 stays the rule


SNAKEPIT_NEXT_TO_DSPEX = """
import sys
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[2])
if sys.argv[3] == "snakepit-first":
    import snakepit_bridge_pb2 as snakepit
    import dspex_bridge
else:
    import dspex_bridge
    import snakepit_bridge_pb2 as snakepit
ours = dspex_bridge.pb.SetVariableRequest(session_id="s", variable_identifier="t", expected_version=3)
ours.value.type_url = "type.googleapis.com/snakepit.float"
ours.value.value = b"1.0"
theirs = snakepit.SetVariableRequest.FromString(ours.SerializeToString())
assert theirs.SerializeToString() == ours.SerializeToString()
assert (theirs.session_id, theirs.expected_version, theirs.value.value) == ("s", 3, b"1.0")
assert snakepit.DESCRIPTOR.package == "snakepit.bridge"
print("ok")
"""


@pytest.mark.parametrize("order", ["snakepit-first", "dspex-first"])
def test_importable_next_to_snakepits_own_generated_module(tmp_path, order):
    # Snakepit's snakepit_bridge_pb2, generated from the same .proto as Snakepit generates it.
    proto = PYTHON_DIR.parent / "proto"
    subprocess.run(["/usr/bin/protoc", "-I", str(proto), f"--python_out={tmp_path}", str(proto / "snakepit_bridge.proto")],
                   check=True, capture_output=True)
    script = tmp_path / "both.py"
    script.write_text(SNAKEPIT_NEXT_TO_DSPEX)
    done = subprocess.run(["/usr/bin/python3", str(script), str(tmp_path), str(PYTHON_DIR), order],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_a_conflated_update_says_so():
    msg = dspex_bridge.pb.VariableUpdate(variable_id="v", update_type="value_change", conflated=True)
    assert dspex_bridge.Update.from_proto(msg).conflated is True
    assert dspex_bridge.Update.from_proto(dspex_bridge.pb.VariableUpdate(variable_id="v")).conflated is False
