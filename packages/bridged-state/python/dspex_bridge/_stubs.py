"""Hand-written service stubs: Debian ships no grpc python plugin, and the table is small."""

from __future__ import annotations

import grpc

from ._generated import snakepit_bridge_pb2 as pb

SERVICE = "snakepit.bridge.BridgeService"

# method -> (request type, response type, server streaming)
METHODS = {
    "Ping": (pb.PingRequest, pb.PingResponse, False),
    "InitializeSession": (pb.InitializeSessionRequest, pb.InitializeSessionResponse, False),
    "CleanupSession": (pb.CleanupSessionRequest, pb.CleanupSessionResponse, False),
    "GetSession": (pb.GetSessionRequest, pb.GetSessionResponse, False),
    "Heartbeat": (pb.HeartbeatRequest, pb.HeartbeatResponse, False),
    "GetVariable": (pb.GetVariableRequest, pb.GetVariableResponse, False),
    "SetVariable": (pb.SetVariableRequest, pb.SetVariableResponse, False),
    "GetVariables": (pb.BatchGetVariablesRequest, pb.BatchGetVariablesResponse, False),
    "SetVariables": (pb.BatchSetVariablesRequest, pb.BatchSetVariablesResponse, False),
    "RegisterVariable": (pb.RegisterVariableRequest, pb.RegisterVariableResponse, False),
    "ListVariables": (pb.ListVariablesRequest, pb.ListVariablesResponse, False),
    "DeleteVariable": (pb.DeleteVariableRequest, pb.DeleteVariableResponse, False),
    "WatchVariables": (pb.WatchVariablesRequest, pb.VariableUpdate, True),
    "GetExposedElixirTools": (pb.GetExposedElixirToolsRequest, pb.GetExposedElixirToolsResponse, False),
    "ImportState": (pb.ImportStateRequest, pb.ImportStateResponse, False),
    "GetVariableHistory": (pb.GetVariableHistoryRequest, pb.GetVariableHistoryResponse, False),
}


class BridgeServiceStub:
    """One multi-callable per method, named like the method (`stub.GetVariable(request)`)."""

    def __init__(self, channel: grpc.Channel):
        for name, (request, response, streaming) in METHODS.items():
            factory = channel.unary_stream if streaming else channel.unary_unary
            callable_ = factory(
                f"/{SERVICE}/{name}",
                request_serializer=request.SerializeToString,
                response_deserializer=response.FromString,
            )
            setattr(self, name, callable_)
