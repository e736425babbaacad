"""The binary format against the TypeScript implementation (binary-format.ts) itself: what one
side encodes the other decodes to the same numbers (float64 and float32, odd shapes), and both
refuse the same malformed input."""

import base64
import struct

import pytest
from google.protobuf import any_pb2

import dspex_bridge
from dspex_bridge import ValidationError, codec


def _any(var_type, header):
    return any_pb2.Any(type_url=codec.type_url(var_type), value=header.encode())


# (type, value): every one crosses as float64 and as float32.
VALUES = [
    ("embedding", [0.5, -1.25, 3.0, 0.1, 1e-3]),
    ("embedding", [2.0]),
    ("tensor", {"shape": [1, 1, 1], "data": [2.5]}),
    ("tensor", {"shape": [2, 3], "data": [1.0, 2.0, 3.0, 4.5, 0.1, -6.0]}),
    ("tensor", {"shape": [], "data": [7.0]}),  # a scalar: product of no dimensions is 1
    ("tensor", {"shape": [3, 1], "data": [0.1, 0.2, 0.3]}),
]
VALUE_IDS = ["embedding-5", "embedding-1", "tensor-1x1x1", "tensor-2x3", "tensor-scalar", "tensor-3x1"]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("var_type, value", VALUES, ids=VALUE_IDS)
def test_python_decodes_what_typescript_encodes(peer, var_type, value, dtype):
    encoded = peer.call("binEncode", type=var_type, value=value, dtype=dtype)
    raw = base64.b64decode(encoded["bytes"])
    decoded = codec.decode(_any(var_type, encoded["header"]), raw)
    # The same numbers TypeScript reads back from its own bytes (float32 rounding included).
    expected = peer.call("binDecode", type=var_type, header=encoded["header"], bytes=encoded["bytes"])
    assert expected["ok"] and decoded == expected["value"]
    if dtype == "float64":
        assert decoded == value
    else:
        data = decoded if var_type == "embedding" else decoded["data"]
        original = value if var_type == "embedding" else value["data"]
        assert data == [struct.unpack("<f", struct.pack("<f", x))[0] for x in original]


@pytest.mark.parametrize("var_type, value", VALUES + [("tensor", [[[2.0]]]), ("tensor", [[1.0, 2.0], [3.0, 4.0]])],
                         ids=VALUE_IDS + ["nested-1x1x1", "nested-2x2"])
def test_typescript_decodes_what_python_encodes(peer, var_type, value):
    packed, raw = codec.encode("v", var_type, value, binary_threshold=1)
    assert raw, "expected the binary form"
    decoded = peer.call("binDecode", type=var_type, header=packed.value.decode(), bytes=base64.b64encode(raw).decode())
    assert decoded["ok"], decoded
    assert decoded["value"] == codec.decode(packed, raw)
    if isinstance(value, dict) or var_type == "embedding":
        assert decoded["value"] == value


# (type, header, bytes): each is refused by TypeScript's decodeBinary, so Python must refuse it too.
MALFORMED = [
    ("tensor", '{"dtype":"float64","shape":[3]}', struct.pack("<2d", 1, 2), "bytes"),
    ("embedding", '{"dtype":"float64","shape":[300]}', b"\0" * 16, "bytes"),
    ("embedding", '{"dtype":"float64","shape":[3]}', b"\0" * 25, "bytes"),
    ("tensor", '{"dtype":"float64"}', struct.pack("<2d", 1, 2), "shape"),
    ("tensor", '{"dtype":"float64","shape":"ab"}', struct.pack("<2d", 1, 2), "shape"),
    ("tensor", '{"dtype":"float64","shape":[2,-1]}', struct.pack("<2d", 1, 2), "shape"),
    ("embedding", '{"dtype":"float64","shape":[2,1]}', struct.pack("<2d", 1, 2), "shape"),
    ("embedding", '{"dtype":"float64","shape":[2.5]}', struct.pack("<2d", 1, 2), "shape"),
    ("embedding", '{"dtype":"float64","shape":[true]}', struct.pack("<1d", 1), "shape"),
    ("embedding", '{"dtype":"int8","shape":[2]}', b"\0\0", "dtype"),
    ("embedding", '{"shape":[2]}', struct.pack("<2d", 1, 2), "dtype"),
    ("embedding", '[2]', struct.pack("<2d", 1, 2), "header"),
    ("embedding", '{not json', struct.pack("<2d", 1, 2), "header"),
    ("integer", '{"dtype":"float64","shape":[1]}', struct.pack("<1d", 1), "embedding and tensor"),
]


@pytest.mark.parametrize("var_type, header, raw, named", MALFORMED,
                         ids=[f"{m[0]}-{i}" for i, m in enumerate(MALFORMED)])
def test_malformed_binary_is_refused_on_both_sides(peer, var_type, header, raw, named):
    answer = peer.call("binDecode", type=var_type, header=header, bytes=base64.b64encode(raw).decode())
    assert answer["ok"] is False, answer
    with pytest.raises(ValidationError) as failure:
        codec.decode(_any(var_type, header), raw)
    assert named in str(failure.value)


def test_odd_shapes_round_trip_through_the_server(bridge, peer):
    # binary_threshold=1: every non-empty array travels in binary; empty ones can only be JSON
    # (an empty bytes field is indistinguishable from none in proto3).
    with dspex_bridge.connect(bridge.address, binary_threshold=1) as client:
        ctx = client.session()
        values = {
            "t0": ("tensor", {"shape": [0], "data": []}),
            "t111": ("tensor", {"shape": [1, 1, 1], "data": [0.25]}),
            "t20": ("tensor", {"shape": [2, 0], "data": []}),
            "e0": ("embedding", []),
            "e1": ("embedding", [-0.5]),
        }
        for name, (var_type, value) in values.items():
            ctx.register(name, var_type, value)
        for name, (var_type, value) in values.items():
            assert ctx.get(name) == value, name
            assert peer.call("get", session=ctx.session_id, name=name)["value"] == value, name
        ctx.cleanup()


@pytest.mark.parametrize("var_type, text", [
    ("embedding", '["a", 1]'),
    ("embedding", "[null]"),
    ("tensor", '{"shape": 3, "data": [1]}'),
    ("tensor", '{"shape": [1], "data": ["x"]}'),
])
def test_malformed_json_arrays_raise_validation_error(var_type, text):
    with pytest.raises(ValidationError, match=var_type):
        codec.decode(_any(var_type, text))
