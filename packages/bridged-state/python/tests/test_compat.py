"""What a client generated from the Snakepit 0.4.1 protocol relies on, checked with raw stubs
(the generated messages and channel.unary_unary only, none of dspex_bridge's API)."""

import json

import grpc
import pytest
from google.protobuf import any_pb2

from dspex_bridge._generated import snakepit_bridge_pb2 as pb

PREFIX = "type.googleapis.com/snakepit."


@pytest.fixture
def raw(bridge):
    channel = grpc.insecure_channel(bridge.address)

    def stub(method, request_type, response_type):
        return channel.unary_unary(f"/snakepit.bridge.BridgeService/{method}",
                                   request_serializer=request_type.SerializeToString,
                                   response_deserializer=response_type.FromString)

    yield stub
    channel.close()


def test_snakepit_client_flow(raw):
    initialize = raw("InitializeSession", pb.InitializeSessionRequest, pb.InitializeSessionResponse)
    tools = raw("GetExposedElixirTools", pb.GetExposedElixirToolsRequest, pb.GetExposedElixirToolsResponse)
    register = raw("RegisterVariable", pb.RegisterVariableRequest, pb.RegisterVariableResponse)
    get = raw("GetVariable", pb.GetVariableRequest, pb.GetVariableResponse)
    set_ = raw("SetVariable", pb.SetVariableRequest, pb.SetVariableResponse)

    assert initialize(pb.InitializeSessionRequest(session_id="snakepit-compat")).success
    assert list(tools(pb.GetExposedElixirToolsRequest(session_id="snakepit-compat")).tools) == []

    value = any_pb2.Any(type_url=PREFIX + "float", value=json.dumps(0.7).encode())
    response = register(pb.RegisterVariableRequest(session_id="snakepit-compat", name="temperature", type="float",
                                                   initial_value=value, constraints_json='{"min": 0.0, "max": 1.0}'))
    assert response.success and response.variable_id

    var = get(pb.GetVariableRequest(session_id="snakepit-compat", variable_identifier="temperature")).variable
    assert var.type == "float" and var.value.type_url == PREFIX + "float"
    assert json.loads(var.value.value) == 0.7 and var.version == 1 and var.id == response.variable_id
    assert json.loads(var.constraints_json) == {"min": 0.0, "max": 1.0}
    assert var.binary_value == b""  # JSON unless the client asks for binary

    updated = set_(pb.SetVariableRequest(session_id="snakepit-compat", variable_identifier="temperature",
                                         value=any_pb2.Any(type_url=PREFIX + "float", value=b"0.9")))
    assert updated.success and updated.new_version == 2

    with pytest.raises(grpc.RpcError) as missing:
        get(pb.GetVariableRequest(session_id="snakepit-compat", variable_identifier="nope"))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND and "not found" in missing.value.details()
    with pytest.raises(grpc.RpcError) as no_session:
        get(pb.GetVariableRequest(session_id="no-such-session", variable_identifier="temperature"))
    assert no_session.value.code() == grpc.StatusCode.NOT_FOUND and "not found" in no_session.value.details()


def test_type_names_are_lowercase_and_values_json_in_any(raw):
    initialize = raw("InitializeSession", pb.InitializeSessionRequest, pb.InitializeSessionResponse)
    register = raw("RegisterVariable", pb.RegisterVariableRequest, pb.RegisterVariableResponse)
    list_ = raw("ListVariables", pb.ListVariablesRequest, pb.ListVariablesResponse)
    assert initialize(pb.InitializeSessionRequest(session_id="snakepit-types")).success
    samples = {
        "float": (1.5, ""), "integer": (3, ""), "string": ("s", ""), "boolean": (True, ""),
        "choice": ("a", '{"choices": ["a", "b"]}'), "module": ("Predict", ""),
        "embedding": ([0.5, 1.0], ""), "tensor": ({"shape": [2], "data": [1.0, 2.0]}, ""),
    }
    for var_type, (value, constraints) in samples.items():
        packed = any_pb2.Any(type_url=PREFIX + var_type, value=json.dumps(value).encode())
        assert register(pb.RegisterVariableRequest(session_id="snakepit-types", name=f"v_{var_type}", type=var_type,
                                                   initial_value=packed, constraints_json=constraints)).success
    variables = list_(pb.ListVariablesRequest(session_id="snakepit-types")).variables
    assert len(variables) == len(samples)
    for var in variables:
        var_type = var.name[2:]
        assert var.type == var_type and var.value.type_url == PREFIX + var_type
        assert json.loads(var.value.value.decode("utf-8")) == samples[var_type][0]


def test_unimplemented_and_watch_update_types(raw, bridge):
    initialize = raw("InitializeSession", pb.InitializeSessionRequest, pb.InitializeSessionResponse)
    assert initialize(pb.InitializeSessionRequest(session_id="snakepit-watch")).success
    # An out-of-scope Snakepit method: UNIMPLEMENTED, not a crash.
    execute = raw("ExecuteTool", pb.PingRequest, pb.PingResponse)
    with pytest.raises(grpc.RpcError) as failure:
        execute(pb.PingRequest())
    assert failure.value.code() == grpc.StatusCode.UNIMPLEMENTED
    register = raw("RegisterVariable", pb.RegisterVariableRequest, pb.RegisterVariableResponse)
    register(pb.RegisterVariableRequest(session_id="snakepit-watch", name="k", type="integer",
                                        initial_value=any_pb2.Any(type_url=PREFIX + "integer", value=b"1")))
    with grpc.insecure_channel(bridge.address) as channel:
        watch = channel.unary_stream("/snakepit.bridge.BridgeService/WatchVariables",
                                     request_serializer=pb.WatchVariablesRequest.SerializeToString,
                                     response_deserializer=pb.VariableUpdate.FromString)
        stream = watch(pb.WatchVariablesRequest(session_id="snakepit-watch", variable_identifiers=["k"],
                                                include_initial_values=True))
        first = next(stream)
        assert first.update_type == "initial_value" and first.variable.name == "k" and first.variable_id
        stream.cancel()
