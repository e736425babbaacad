"""Value encoding on the wire (bridge-protocol.md, "Value encoding").

A value travels as google.protobuf.Any: type_url `type.googleapis.com/snakepit.<type>`, value
bytes = UTF-8 JSON of the value; special floats are the JSON strings "NaN", "Infinity",
"-Infinity". Large embeddings/tensors may instead travel in a `binary_value` field as
little-endian IEEE-754 float64 (or float32) numbers, row-major, with the Any alongside holding
`{"dtype": "float64"|"float32", "shape": [...]}` (see README, "Binary format").

Python shapes: float -> float, integer -> int, string/choice/module -> str, boolean -> bool,
embedding -> list of floats, tensor -> {"shape": [...], "data": [flat floats]}.
"""

from __future__ import annotations

import json
import math
import sys
from array import array
from typing import Any as AnyValue
from typing import Dict, List, Optional, Sequence, Tuple

from google.protobuf import any_pb2

from .errors import ValidationError

TYPE_URL_PREFIX = "type.googleapis.com/snakepit."
VARIABLE_TYPES = ("float", "integer", "string", "boolean", "choice", "module", "embedding", "tensor")
ARRAY_TYPES = ("embedding", "tensor")
# The server answers in binary from this many elements on (when asked); we send binary likewise.
BINARY_THRESHOLD = 256

_LITTLE_ENDIAN = sys.byteorder == "little"
_SPECIAL_TO_JSON = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}
_JSON_TO_SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_TYPE_URLS = {t: TYPE_URL_PREFIX + t for t in VARIABLE_TYPES}
_DTYPE_CODES = {"float64": "d", "float32": "f"}


def type_url(var_type: str) -> str:
    try:
        return _TYPE_URLS[var_type]
    except KeyError:
        raise ValidationError(
            f"unknown variable type {var_type!r}; expected one of {', '.join(VARIABLE_TYPES)}"
        ) from None


def type_from_url(url: str) -> str:
    if url.startswith(TYPE_URL_PREFIX):
        name = url[len(TYPE_URL_PREFIX):]
        if name in _TYPE_URLS:
            return name
    raise ValidationError(f"unknown value type_url {url!r}; expected {TYPE_URL_PREFIX}<type>")


def _is_ndarray_like(value: AnyValue) -> bool:
    # numpy is optional: anything with .tolist() and .shape (ndarray, numpy scalars) is accepted.
    return hasattr(value, "tolist") and hasattr(value, "shape") and not isinstance(value, array)


def _float_list(name: str, field: str, seq: AnyValue) -> List[float]:
    if isinstance(seq, (str, bytes, dict)) or not hasattr(seq, "__len__"):
        raise ValidationError(f"{name}: expected {field} as a sequence of numbers, got {type(seq).__name__}")
    out = []
    for i, item in enumerate(seq):
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            if hasattr(item, "item") and not hasattr(item, "__len__"):  # numpy scalar
                item = item.item()
            else:
                raise ValidationError(f"{name}: {field}[{i}] must be a number, got {item!r}")
        f = float(item)
        if not math.isfinite(f):
            raise ValidationError(f"{name}: {field}[{i}] must be a finite number, got {item!r}")
        out.append(f)
    return out


def _nested_to_tensor(name: str, value: Sequence) -> Tuple[List[int], List[float]]:
    shape: List[int] = []
    level: AnyValue = value
    while isinstance(level, (list, tuple)):
        shape.append(len(level))
        if not level:
            break
        level = level[0]
    data: List[AnyValue] = []

    def walk(node: AnyValue, depth: int) -> None:
        if depth == len(shape):
            data.append(node)
            return
        if not isinstance(node, (list, tuple)) or len(node) != shape[depth]:
            raise ValidationError(f"{name}: tensor given as nested lists is ragged at depth {depth}")
        for child in node:
            walk(child, depth + 1)

    walk(value, 0)
    return shape, _float_list(name, "tensor data", data)


def normalize_array(name: str, var_type: str, value: AnyValue) -> Tuple[List[int], List[float]]:
    """(shape, flat float data) of an embedding or tensor given as list, nested list, dict or ndarray."""
    if _is_ndarray_like(value):
        shape = [int(d) for d in value.shape]
        flat = value.reshape(-1).tolist() if hasattr(value, "reshape") else value.tolist()
        data = _float_list(name, f"{var_type} data", flat)
        if var_type == "embedding" and len(shape) != 1:
            raise ValidationError(f"{name}: embedding must be 1-dimensional, got shape {shape}")
        return shape, data
    if var_type == "embedding":
        data = _float_list(name, "embedding", value)
        return [len(data)], data
    if isinstance(value, dict):
        if set(value) != {"shape", "data"}:
            raise ValidationError(f"{name}: tensor dict needs exactly the keys 'shape' and 'data', got {sorted(value)}")
        shape = value["shape"]
        if not isinstance(shape, (list, tuple)) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
            raise ValidationError(f"{name}: tensor shape must be a list of non-negative integers, got {shape!r}")
        return list(shape), _float_list(name, "tensor data", value["data"])
    if isinstance(value, (list, tuple)):
        return _nested_to_tensor(name, value)
    raise ValidationError(f"{name}: expected tensor as {{'shape', 'data'}}, nested lists or an ndarray, got {type(value).__name__}")


def _json_scalar(name: str, var_type: str, value: AnyValue) -> AnyValue:
    if _is_ndarray_like(value) and getattr(value, "shape", None) == ():
        value = value.tolist()
    if var_type == "float":
        # An int goes out as a float (1.0, not 1): Python readers such as Snakepit's take 1 for an int.
        if isinstance(value, int) and not isinstance(value, bool):
            try:
                value = float(value)
            except OverflowError:
                raise ValidationError(f"{name}: float value {value} is too large for a float") from None
        if isinstance(value, float) and not math.isfinite(value):
            return _SPECIAL_TO_JSON[repr(value)]
        return value
    return value


def encode(name: str, var_type: str, value: AnyValue, binary_threshold: int = BINARY_THRESHOLD) -> Tuple[any_pb2.Any, bytes]:
    """(Any, binary bytes) for a value; binary is b"" unless an array has >= binary_threshold elements.

    Only what JSON cannot carry is checked here; the server validates type and constraints.
    """
    url = type_url(var_type)
    if var_type in ARRAY_TYPES:
        shape, data = normalize_array(name, var_type, value)
        if len(data) >= binary_threshold > 0:
            header = {"dtype": "float64", "shape": shape}
            return any_pb2.Any(type_url=url, value=json.dumps(header, separators=(",", ":")).encode()), pack_float64(data)
        payload: AnyValue = data if var_type == "embedding" else {"shape": shape, "data": data}
    else:
        payload = _json_scalar(name, var_type, value)
    try:
        text = json.dumps(payload, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as cause:
        raise ValidationError(f"{name}: cannot encode {var_type} value {value!r} as JSON ({cause})") from None
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate ("\ud800") has no UTF-8 form; JSON's \u escape carries it, as JSON.parse reads it.
        data = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode("ascii")
    return any_pb2.Any(type_url=url, value=data), b""


def pack_float64(data: Sequence[float]) -> bytes:
    packed = array("d", data)
    if not _LITTLE_ENDIAN:
        packed.byteswap()
    return packed.tobytes()


def unpack(dtype: str, raw: bytes) -> List[float]:
    code = _DTYPE_CODES.get(dtype)
    if code is None:
        raise ValidationError(f"binary value has unknown dtype {dtype!r}; expected float64 or float32")
    values = array(code)
    if len(raw) % values.itemsize:
        raise ValidationError(f"binary value of {len(raw)} bytes is not a whole number of {dtype}")
    values.frombytes(raw)
    if not _LITTLE_ENDIAN:
        values.byteswap()
    return values.tolist()


def decode_binary(var_type: str, header_text: bytes, raw: bytes) -> AnyValue:
    """An embedding or tensor from binary bytes and their JSON header; refuses exactly what
    decodeBinary in binary-format.ts refuses, so both languages read the format alike."""
    if var_type not in ARRAY_TYPES:
        raise ValidationError(f"binary values are only for embedding and tensor, not {var_type}")
    try:
        header = json.loads(header_text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ValidationError(f"binary header is not valid JSON: {header_text[:80]!r}") from None
    if not isinstance(header, dict):
        raise ValidationError(f"binary header must be {{\"dtype\", \"shape\"}}, got {header!r}")
    dtype, shape = header.get("dtype"), header.get("shape")
    if dtype not in _DTYPE_CODES:
        raise ValidationError(f"binary dtype must be \"float64\" or \"float32\", got {dtype!r}")
    if (not isinstance(shape, list)
            or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
            or (var_type == "embedding" and len(shape) != 1)):
        expected = "[n]" if var_type == "embedding" else "a list of non-negative integers"
        raise ValidationError(f"binary shape must be {expected}, got {shape!r}")
    count = math.prod(shape)
    needed = count * array(_DTYPE_CODES[dtype]).itemsize
    if len(raw) != needed:
        raise ValidationError(f"binary value has {len(raw)} bytes, shape {shape} as {dtype} needs {needed}")
    data = unpack(dtype, raw)
    return data if var_type == "embedding" else {"shape": shape, "data": data}


def _from_json(var_type: str, parsed: AnyValue) -> AnyValue:
    try:
        return _from_json_unchecked(var_type, parsed)
    except (TypeError, ValueError):  # e.g. a string inside an embedding: not from a valid server
        raise ValidationError(f"{var_type} value has the wrong shape: {json.dumps(parsed)[:80]}") from None


def _from_json_unchecked(var_type: str, parsed: AnyValue) -> AnyValue:
    if var_type == "float":
        if isinstance(parsed, str) and parsed in _JSON_TO_SPECIAL:
            return _JSON_TO_SPECIAL[parsed]
        if isinstance(parsed, int) and not isinstance(parsed, bool):
            return float(parsed)
        return parsed
    if var_type == "embedding" and isinstance(parsed, list):
        return [float(x) for x in parsed]
    if var_type == "tensor" and isinstance(parsed, dict) and isinstance(parsed.get("data"), list):
        return {"shape": list(parsed.get("shape", [])), "data": [float(x) for x in parsed["data"]]}
    return parsed


def decode(packed: any_pb2.Any, binary: bytes = b"", var_type: Optional[str] = None) -> AnyValue:
    """The Python value of an Any (and binary_value when non-empty)."""
    if var_type is None or packed.type_url:
        var_type = type_from_url(packed.type_url)
    if binary:  # as on the server: non-empty bytes mean the Any holds the binary header
        return decode_binary(var_type, packed.value, binary)
    try:
        parsed = json.loads(packed.value.decode("utf-8")) if packed.value else None
    except (UnicodeDecodeError, ValueError) as cause:
        raise ValidationError(f"{var_type} value is not valid JSON ({cause})") from None
    return _from_json(var_type, parsed)


def encode_constraints(constraints: Optional[Dict[str, AnyValue]]) -> str:
    if constraints is None:
        return ""
    if not isinstance(constraints, dict):
        raise ValidationError(f"constraints must be a dict, got {type(constraints).__name__}")
    return json.dumps(constraints, separators=(",", ":"))


def decode_constraints(text: str) -> Dict[str, AnyValue]:
    if not text.strip():
        return {}
    try:
        parsed = json.loads(text)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
