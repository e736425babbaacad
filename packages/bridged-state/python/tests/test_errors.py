"""Every error the client raises, mapped from the server's status codes."""

import grpc
import pytest

import dspex_bridge
from dspex_bridge import (
    AlreadyExistsError,
    BridgeError,
    LimitExceededError,
    NotFoundError,
    UnauthenticatedError,
    UnavailableError,
    ValidationError,
    VersionConflictError,
)


def test_not_found_names_the_variable(ctx):
    with pytest.raises(NotFoundError) as failure:
        ctx.get("ghost")
    error = failure.value
    assert 'variable "ghost" not found' in str(error)
    assert error.code == grpc.StatusCode.NOT_FOUND
    assert error.info.get("code") == "not_found"
    assert isinstance(error, KeyError) and isinstance(error, BridgeError)
    with pytest.raises(NotFoundError):
        ctx.set("ghost", 1)


def test_already_exists(ctx):
    ctx.register("x", "integer", 1)
    with pytest.raises(AlreadyExistsError, match='"x" already exists'):
        ctx.register("x", "integer", 2)
    assert ctx.get_record("x").value == 1


@pytest.mark.parametrize(
    "name, var_type, value, constraints, expected",
    [
        ("t", "float", 3.0, {"max": 2.0}, "above maximum 2"),
        ("t", "float", -1.0, {"min": 0.0}, "below minimum 0"),
        ("t", "float", "hot", None, "expected float"),
        ("k", "integer", 1.5, None, "expected integer"),
        ("s", "string", "abc", {"max_length": 2}, "max"),
        ("s", "string", "abc", {"pattern": "^x"}, "pattern"),
        ("c", "choice", "z", {"choices": ["a", "b"]}, "choice"),
        ("c", "choice", "a", None, "choices"),
        ("m", "module", "Evil", {"allowed_modules": ["Predict"]}, "Evil"),
        ("e", "embedding", [1.0, 2.0], {"dimensions": 3}, "dimensions"),
        ("f", "float", 1.0, {"maximum": 3}, "maximum"),
    ],
)
def test_register_rejects_bad_values_and_constraints(ctx, name, var_type, value, constraints, expected):
    with pytest.raises(ValidationError) as failure:
        ctx.register(name, var_type, value, constraints=constraints)
    assert expected in str(failure.value)
    assert failure.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert name not in ctx


def test_set_rejects_bad_values_and_changes_nothing(ctx):
    ctx.register("t", "float", 0.5, constraints={"min": 0.0, "max": 1.0})
    for bad in (1.5, "warm", True, [1.0]):
        with pytest.raises(ValidationError, match='variable "t"'):
            ctx.set("t", bad)
    record = ctx.get_record("t")
    assert (record.value, record.version) == (0.5, 1)


def test_values_json_cannot_carry_fail_locally(ctx):
    with pytest.raises(ValidationError, match="unknown variable type"):
        ctx.register("x", "matrix", [1])
    ctx.register("e", "embedding", [1.0, 2.0])
    with pytest.raises(ValidationError, match="finite"):
        ctx.set("e", [1.0, float("nan")])
    with pytest.raises(ValidationError, match="ragged"):
        ctx.register("t", "tensor", [[1.0, 2.0], [3.0]])
    assert ctx.get_record("e").version == 1


def test_version_conflict_is_aborted(ctx):
    ctx.register("n", "integer", 1)
    ctx.set("n", 2)
    with pytest.raises(VersionConflictError) as failure:
        ctx.set("n", 3, expected_version=1)
    assert failure.value.code == grpc.StatusCode.ABORTED and failure.value.current_version == 2


def test_limits_raise_limit_exceeded(start_bridge):
    server = start_bridge("--max-variables", "2", "--max-value-bytes", "64", "--max-sessions", "1")
    with dspex_bridge.connect(server.address) as client:
        ctx = client.session("only")
        ctx.register("a", "integer", 1)
        ctx.register("b", "integer", 2)
        with pytest.raises(LimitExceededError, match="limit"):
            ctx.register("c", "integer", 3)
        ctx.delete("b")
        with pytest.raises(LimitExceededError, match="limit"):
            ctx.register("s", "string", "x" * 100)  # 102 bytes of JSON > 64
        ctx.register("s", "string", "short")
        with pytest.raises(LimitExceededError):
            client.session("second")
        assert isinstance(LimitExceededError("x"), BridgeError)


def test_token_auth(start_bridge):
    server = start_bridge("--token", "s3cret")
    with dspex_bridge.connect(server.address) as anonymous:
        with pytest.raises(UnauthenticatedError):
            anonymous.ping()
        with pytest.raises(UnauthenticatedError):
            anonymous.session("x")
    with dspex_bridge.connect(server.address, token="wrong") as wrong:
        with pytest.raises(UnauthenticatedError):
            wrong.ping()
    with dspex_bridge.connect(server.address, token="s3cret") as authorized:
        ctx = authorized.session("x")
        ctx.register("a", "integer", 1)
        with ctx.watch() as watch:  # streams carry the token too
            assert watch.next(timeout=5).value == 1
        assert ctx.get("a") == 1


def test_a_stopped_server_raises_unavailable(start_bridge):
    server = start_bridge()
    client = dspex_bridge.connect(server.address, timeout=2)
    ctx = client.session("s")
    ctx.register("a", "integer", 1)
    assert server.stop() == 0
    with pytest.raises(UnavailableError) as failure:
        ctx.get("a")
    assert failure.value.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
    assert isinstance(failure.value, ConnectionError)
    client.close()


def test_every_error_derives_from_bridge_error():
    for cls in (NotFoundError, AlreadyExistsError, ValidationError, VersionConflictError, LimitExceededError,
                UnauthenticatedError, UnavailableError, dspex_bridge.SessionNotFoundError, dspex_bridge.BatchUpdateError):
        assert issubclass(cls, BridgeError)


@pytest.mark.parametrize(
    "type_url, value, binary, expected",
    [
        ("type.googleapis.com/snakepit.float", b"{not json", b"", "JSON"),
        ("type.googleapis.com/snakepit.matrix", b"1", b"", "type_url"),
        ("example.com/float", b"1", b"", "type_url"),
        ("type.googleapis.com/snakepit.embedding", b'{"dtype":"float64","shape":[300]}', b"\0" * 16, "bytes"),
        ("type.googleapis.com/snakepit.embedding", b'{"dtype":"int8","shape":[2]}', b"\0\0", "dtype"),
    ],
    ids=["bad-json", "unknown-type", "foreign-url", "short-binary", "bad-dtype"],
)
def test_malformed_wire_values_are_invalid_argument(client, ctx, type_url, value, binary, expected):
    from google.protobuf import any_pb2

    ctx.register("e", "embedding", [0.0] * 300)
    target = "e" if "embedding" in type_url else "f"
    if target == "f":
        ctx.register("f", "float", 0.5)
    request = dspex_bridge.pb.SetVariableRequest(session_id=ctx.session_id, variable_identifier=target,
                                                 value=any_pb2.Any(type_url=type_url, value=value), binary_value=binary)
    with pytest.raises(grpc.RpcError) as failure:
        client.stub.SetVariable(request)
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # never INTERNAL for a caller's mistake
    assert expected in failure.value.details()
    assert ctx.get_record(target).version == 1


@pytest.mark.parametrize("metadata, named", [({"step": 3}, "'step'"), ({"a": None}, "'a'"), ({1: "a"}, "1")])
def test_metadata_that_is_not_string_to_string_is_a_validation_error(ctx, metadata, named):
    ctx.register("x", "integer", 1)
    for write in (lambda: ctx.set("x", 2, metadata=metadata),
                  lambda: ctx.update_many({"x": 2}, metadata=metadata),
                  lambda: ctx.register("y", "integer", 1, metadata=metadata)):
        with pytest.raises(ValidationError, match="metadata") as failure:
            write()
        assert named in str(failure.value)
    assert ctx.get_record("x").version == 1 and "y" not in ctx
