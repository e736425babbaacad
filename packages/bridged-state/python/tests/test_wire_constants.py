"""proto/wire-constants.json states the wire constants once for every language; these tests hold
the Python client's codec and error mapping to it (test/wire-constants.test.ts does the same for
the TypeScript side)."""

import json
import math

import grpc
import pytest

from bridge_process import PACKAGE_DIR
from dspex_bridge import codec, errors

CONSTANTS = json.loads((PACKAGE_DIR / "proto" / "wire-constants.json").read_text(encoding="utf-8"))


def test_variable_types_type_urls_and_the_error_trailer():
    assert list(codec.VARIABLE_TYPES) == CONSTANTS["variableTypes"]
    assert codec.TYPE_URL_PREFIX == CONSTANTS["typeUrlPrefix"]
    for var_type in CONSTANTS["variableTypes"]:
        assert codec.type_url(var_type) == CONSTANTS["typeUrlPrefix"] + var_type
        assert codec.type_from_url(CONSTANTS["typeUrlPrefix"] + var_type) == var_type
    assert errors.ERROR_TRAILER == CONSTANTS["errorTrailer"]


@pytest.mark.parametrize("key, value", [("nan", math.nan), ("infinity", math.inf), ("negativeInfinity", -math.inf)])
def test_special_floats_are_spelled_as_the_file_says_both_ways(key, value):
    spelled = json.dumps(CONSTANTS["specialFloats"][key]).encode()
    packed, binary = codec.encode("t", "float", value)
    assert (packed.value, binary) == (spelled, b"")
    decoded = codec.decode(packed, b"", "float")
    assert math.isnan(decoded) if math.isnan(value) else decoded == value


def test_binary_threshold_is_binary_min_elements():
    threshold = CONSTANTS["binaryMinElements"]
    assert codec.BINARY_THRESHOLD == threshold
    _, at_threshold = codec.encode("e", "embedding", [0.5] * threshold)
    _, below = codec.encode("e", "embedding", [0.5] * (threshold - 1))
    assert len(at_threshold) == threshold * 8 and below == b""


def test_every_contract_code_has_a_class_of_the_files_status():
    assert set(errors._BY_CONTRACT_CODE) == set(CONSTANTS["statusOfCode"])
    for code, status_name in CONSTANTS["statusOfCode"].items():
        cls = errors._BY_CONTRACT_CODE[code]
        assert issubclass(cls, errors.BridgeError), code
        assert cls.code == grpc.StatusCode[status_name], code


def test_without_the_trailer_each_status_has_the_class_of_the_files_code():
    by_status = CONSTANTS["codeOfStatusWithoutTrailer"]
    assert {status.name for status in errors._BY_STATUS} == set(by_status)
    for status_name, code in by_status.items():
        assert errors._BY_STATUS[grpc.StatusCode[status_name]] is errors._BY_CONTRACT_CODE[code], status_name
