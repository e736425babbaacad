import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { Any__Input as _google_protobuf_Any__Input, Any__Output as _google_protobuf_Any__Output } from './google/protobuf/Any.js';
import type { Timestamp__Input as _google_protobuf_Timestamp__Input, Timestamp__Output as _google_protobuf_Timestamp__Output } from './google/protobuf/Timestamp.js';
import type { BatchGetVariablesRequest__Input as _snakepit_bridge_BatchGetVariablesRequest__Input, BatchGetVariablesRequest__Output as _snakepit_bridge_BatchGetVariablesRequest__Output } from './snakepit/bridge/BatchGetVariablesRequest.js';
import type { BatchGetVariablesResponse__Input as _snakepit_bridge_BatchGetVariablesResponse__Input, BatchGetVariablesResponse__Output as _snakepit_bridge_BatchGetVariablesResponse__Output } from './snakepit/bridge/BatchGetVariablesResponse.js';
import type { BatchSetVariablesRequest__Input as _snakepit_bridge_BatchSetVariablesRequest__Input, BatchSetVariablesRequest__Output as _snakepit_bridge_BatchSetVariablesRequest__Output } from './snakepit/bridge/BatchSetVariablesRequest.js';
import type { BatchSetVariablesResponse__Input as _snakepit_bridge_BatchSetVariablesResponse__Input, BatchSetVariablesResponse__Output as _snakepit_bridge_BatchSetVariablesResponse__Output } from './snakepit/bridge/BatchSetVariablesResponse.js';
import type { BridgeServiceClient as _snakepit_bridge_BridgeServiceClient, BridgeServiceDefinition as _snakepit_bridge_BridgeServiceDefinition } from './snakepit/bridge/BridgeService.js';
import type { CleanupSessionRequest__Input as _snakepit_bridge_CleanupSessionRequest__Input, CleanupSessionRequest__Output as _snakepit_bridge_CleanupSessionRequest__Output } from './snakepit/bridge/CleanupSessionRequest.js';
import type { CleanupSessionResponse__Input as _snakepit_bridge_CleanupSessionResponse__Input, CleanupSessionResponse__Output as _snakepit_bridge_CleanupSessionResponse__Output } from './snakepit/bridge/CleanupSessionResponse.js';
import type { DeleteVariableRequest__Input as _snakepit_bridge_DeleteVariableRequest__Input, DeleteVariableRequest__Output as _snakepit_bridge_DeleteVariableRequest__Output } from './snakepit/bridge/DeleteVariableRequest.js';
import type { DeleteVariableResponse__Input as _snakepit_bridge_DeleteVariableResponse__Input, DeleteVariableResponse__Output as _snakepit_bridge_DeleteVariableResponse__Output } from './snakepit/bridge/DeleteVariableResponse.js';
import type { GetExposedElixirToolsRequest__Input as _snakepit_bridge_GetExposedElixirToolsRequest__Input, GetExposedElixirToolsRequest__Output as _snakepit_bridge_GetExposedElixirToolsRequest__Output } from './snakepit/bridge/GetExposedElixirToolsRequest.js';
import type { GetExposedElixirToolsResponse__Input as _snakepit_bridge_GetExposedElixirToolsResponse__Input, GetExposedElixirToolsResponse__Output as _snakepit_bridge_GetExposedElixirToolsResponse__Output } from './snakepit/bridge/GetExposedElixirToolsResponse.js';
import type { GetSessionRequest__Input as _snakepit_bridge_GetSessionRequest__Input, GetSessionRequest__Output as _snakepit_bridge_GetSessionRequest__Output } from './snakepit/bridge/GetSessionRequest.js';
import type { GetSessionResponse__Input as _snakepit_bridge_GetSessionResponse__Input, GetSessionResponse__Output as _snakepit_bridge_GetSessionResponse__Output } from './snakepit/bridge/GetSessionResponse.js';
import type { GetVariableHistoryRequest__Input as _snakepit_bridge_GetVariableHistoryRequest__Input, GetVariableHistoryRequest__Output as _snakepit_bridge_GetVariableHistoryRequest__Output } from './snakepit/bridge/GetVariableHistoryRequest.js';
import type { GetVariableHistoryResponse__Input as _snakepit_bridge_GetVariableHistoryResponse__Input, GetVariableHistoryResponse__Output as _snakepit_bridge_GetVariableHistoryResponse__Output } from './snakepit/bridge/GetVariableHistoryResponse.js';
import type { GetVariableRequest__Input as _snakepit_bridge_GetVariableRequest__Input, GetVariableRequest__Output as _snakepit_bridge_GetVariableRequest__Output } from './snakepit/bridge/GetVariableRequest.js';
import type { GetVariableResponse__Input as _snakepit_bridge_GetVariableResponse__Input, GetVariableResponse__Output as _snakepit_bridge_GetVariableResponse__Output } from './snakepit/bridge/GetVariableResponse.js';
import type { HeartbeatRequest__Input as _snakepit_bridge_HeartbeatRequest__Input, HeartbeatRequest__Output as _snakepit_bridge_HeartbeatRequest__Output } from './snakepit/bridge/HeartbeatRequest.js';
import type { HeartbeatResponse__Input as _snakepit_bridge_HeartbeatResponse__Input, HeartbeatResponse__Output as _snakepit_bridge_HeartbeatResponse__Output } from './snakepit/bridge/HeartbeatResponse.js';
import type { ImportStateRequest__Input as _snakepit_bridge_ImportStateRequest__Input, ImportStateRequest__Output as _snakepit_bridge_ImportStateRequest__Output } from './snakepit/bridge/ImportStateRequest.js';
import type { ImportStateResponse__Input as _snakepit_bridge_ImportStateResponse__Input, ImportStateResponse__Output as _snakepit_bridge_ImportStateResponse__Output } from './snakepit/bridge/ImportStateResponse.js';
import type { InitializeSessionRequest__Input as _snakepit_bridge_InitializeSessionRequest__Input, InitializeSessionRequest__Output as _snakepit_bridge_InitializeSessionRequest__Output } from './snakepit/bridge/InitializeSessionRequest.js';
import type { InitializeSessionResponse__Input as _snakepit_bridge_InitializeSessionResponse__Input, InitializeSessionResponse__Output as _snakepit_bridge_InitializeSessionResponse__Output } from './snakepit/bridge/InitializeSessionResponse.js';
import type { ListVariablesRequest__Input as _snakepit_bridge_ListVariablesRequest__Input, ListVariablesRequest__Output as _snakepit_bridge_ListVariablesRequest__Output } from './snakepit/bridge/ListVariablesRequest.js';
import type { ListVariablesResponse__Input as _snakepit_bridge_ListVariablesResponse__Input, ListVariablesResponse__Output as _snakepit_bridge_ListVariablesResponse__Output } from './snakepit/bridge/ListVariablesResponse.js';
import type { OptimizationStatus__Input as _snakepit_bridge_OptimizationStatus__Input, OptimizationStatus__Output as _snakepit_bridge_OptimizationStatus__Output } from './snakepit/bridge/OptimizationStatus.js';
import type { ParameterSpec__Input as _snakepit_bridge_ParameterSpec__Input, ParameterSpec__Output as _snakepit_bridge_ParameterSpec__Output } from './snakepit/bridge/ParameterSpec.js';
import type { PingRequest__Input as _snakepit_bridge_PingRequest__Input, PingRequest__Output as _snakepit_bridge_PingRequest__Output } from './snakepit/bridge/PingRequest.js';
import type { PingResponse__Input as _snakepit_bridge_PingResponse__Input, PingResponse__Output as _snakepit_bridge_PingResponse__Output } from './snakepit/bridge/PingResponse.js';
import type { RegisterVariableRequest__Input as _snakepit_bridge_RegisterVariableRequest__Input, RegisterVariableRequest__Output as _snakepit_bridge_RegisterVariableRequest__Output } from './snakepit/bridge/RegisterVariableRequest.js';
import type { RegisterVariableResponse__Input as _snakepit_bridge_RegisterVariableResponse__Input, RegisterVariableResponse__Output as _snakepit_bridge_RegisterVariableResponse__Output } from './snakepit/bridge/RegisterVariableResponse.js';
import type { SessionConfig__Input as _snakepit_bridge_SessionConfig__Input, SessionConfig__Output as _snakepit_bridge_SessionConfig__Output } from './snakepit/bridge/SessionConfig.js';
import type { SetVariableRequest__Input as _snakepit_bridge_SetVariableRequest__Input, SetVariableRequest__Output as _snakepit_bridge_SetVariableRequest__Output } from './snakepit/bridge/SetVariableRequest.js';
import type { SetVariableResponse__Input as _snakepit_bridge_SetVariableResponse__Input, SetVariableResponse__Output as _snakepit_bridge_SetVariableResponse__Output } from './snakepit/bridge/SetVariableResponse.js';
import type { ToolSpec__Input as _snakepit_bridge_ToolSpec__Input, ToolSpec__Output as _snakepit_bridge_ToolSpec__Output } from './snakepit/bridge/ToolSpec.js';
import type { Variable__Input as _snakepit_bridge_Variable__Input, Variable__Output as _snakepit_bridge_Variable__Output } from './snakepit/bridge/Variable.js';
import type { VariableUpdate__Input as _snakepit_bridge_VariableUpdate__Input, VariableUpdate__Output as _snakepit_bridge_VariableUpdate__Output } from './snakepit/bridge/VariableUpdate.js';
import type { WatchVariablesRequest__Input as _snakepit_bridge_WatchVariablesRequest__Input, WatchVariablesRequest__Output as _snakepit_bridge_WatchVariablesRequest__Output } from './snakepit/bridge/WatchVariablesRequest.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  google: {
    protobuf: {
      Any: MessageTypeDefinition<_google_protobuf_Any__Input, _google_protobuf_Any__Output>
      Timestamp: MessageTypeDefinition<_google_protobuf_Timestamp__Input, _google_protobuf_Timestamp__Output>
    }
  }
  snakepit: {
    bridge: {
      BatchGetVariablesRequest: MessageTypeDefinition<_snakepit_bridge_BatchGetVariablesRequest__Input, _snakepit_bridge_BatchGetVariablesRequest__Output>
      BatchGetVariablesResponse: MessageTypeDefinition<_snakepit_bridge_BatchGetVariablesResponse__Input, _snakepit_bridge_BatchGetVariablesResponse__Output>
      BatchSetVariablesRequest: MessageTypeDefinition<_snakepit_bridge_BatchSetVariablesRequest__Input, _snakepit_bridge_BatchSetVariablesRequest__Output>
      BatchSetVariablesResponse: MessageTypeDefinition<_snakepit_bridge_BatchSetVariablesResponse__Input, _snakepit_bridge_BatchSetVariablesResponse__Output>
      BridgeService: SubtypeConstructor<typeof grpc.Client, _snakepit_bridge_BridgeServiceClient> & { service: _snakepit_bridge_BridgeServiceDefinition }
      CleanupSessionRequest: MessageTypeDefinition<_snakepit_bridge_CleanupSessionRequest__Input, _snakepit_bridge_CleanupSessionRequest__Output>
      CleanupSessionResponse: MessageTypeDefinition<_snakepit_bridge_CleanupSessionResponse__Input, _snakepit_bridge_CleanupSessionResponse__Output>
      DeleteVariableRequest: MessageTypeDefinition<_snakepit_bridge_DeleteVariableRequest__Input, _snakepit_bridge_DeleteVariableRequest__Output>
      DeleteVariableResponse: MessageTypeDefinition<_snakepit_bridge_DeleteVariableResponse__Input, _snakepit_bridge_DeleteVariableResponse__Output>
      GetExposedElixirToolsRequest: MessageTypeDefinition<_snakepit_bridge_GetExposedElixirToolsRequest__Input, _snakepit_bridge_GetExposedElixirToolsRequest__Output>
      GetExposedElixirToolsResponse: MessageTypeDefinition<_snakepit_bridge_GetExposedElixirToolsResponse__Input, _snakepit_bridge_GetExposedElixirToolsResponse__Output>
      GetSessionRequest: MessageTypeDefinition<_snakepit_bridge_GetSessionRequest__Input, _snakepit_bridge_GetSessionRequest__Output>
      GetSessionResponse: MessageTypeDefinition<_snakepit_bridge_GetSessionResponse__Input, _snakepit_bridge_GetSessionResponse__Output>
      GetVariableHistoryRequest: MessageTypeDefinition<_snakepit_bridge_GetVariableHistoryRequest__Input, _snakepit_bridge_GetVariableHistoryRequest__Output>
      GetVariableHistoryResponse: MessageTypeDefinition<_snakepit_bridge_GetVariableHistoryResponse__Input, _snakepit_bridge_GetVariableHistoryResponse__Output>
      GetVariableRequest: MessageTypeDefinition<_snakepit_bridge_GetVariableRequest__Input, _snakepit_bridge_GetVariableRequest__Output>
      GetVariableResponse: MessageTypeDefinition<_snakepit_bridge_GetVariableResponse__Input, _snakepit_bridge_GetVariableResponse__Output>
      HeartbeatRequest: MessageTypeDefinition<_snakepit_bridge_HeartbeatRequest__Input, _snakepit_bridge_HeartbeatRequest__Output>
      HeartbeatResponse: MessageTypeDefinition<_snakepit_bridge_HeartbeatResponse__Input, _snakepit_bridge_HeartbeatResponse__Output>
      ImportStateRequest: MessageTypeDefinition<_snakepit_bridge_ImportStateRequest__Input, _snakepit_bridge_ImportStateRequest__Output>
      ImportStateResponse: MessageTypeDefinition<_snakepit_bridge_ImportStateResponse__Input, _snakepit_bridge_ImportStateResponse__Output>
      InitializeSessionRequest: MessageTypeDefinition<_snakepit_bridge_InitializeSessionRequest__Input, _snakepit_bridge_InitializeSessionRequest__Output>
      InitializeSessionResponse: MessageTypeDefinition<_snakepit_bridge_InitializeSessionResponse__Input, _snakepit_bridge_InitializeSessionResponse__Output>
      ListVariablesRequest: MessageTypeDefinition<_snakepit_bridge_ListVariablesRequest__Input, _snakepit_bridge_ListVariablesRequest__Output>
      ListVariablesResponse: MessageTypeDefinition<_snakepit_bridge_ListVariablesResponse__Input, _snakepit_bridge_ListVariablesResponse__Output>
      OptimizationStatus: MessageTypeDefinition<_snakepit_bridge_OptimizationStatus__Input, _snakepit_bridge_OptimizationStatus__Output>
      ParameterSpec: MessageTypeDefinition<_snakepit_bridge_ParameterSpec__Input, _snakepit_bridge_ParameterSpec__Output>
      PingRequest: MessageTypeDefinition<_snakepit_bridge_PingRequest__Input, _snakepit_bridge_PingRequest__Output>
      PingResponse: MessageTypeDefinition<_snakepit_bridge_PingResponse__Input, _snakepit_bridge_PingResponse__Output>
      RegisterVariableRequest: MessageTypeDefinition<_snakepit_bridge_RegisterVariableRequest__Input, _snakepit_bridge_RegisterVariableRequest__Output>
      RegisterVariableResponse: MessageTypeDefinition<_snakepit_bridge_RegisterVariableResponse__Input, _snakepit_bridge_RegisterVariableResponse__Output>
      SessionConfig: MessageTypeDefinition<_snakepit_bridge_SessionConfig__Input, _snakepit_bridge_SessionConfig__Output>
      SetVariableRequest: MessageTypeDefinition<_snakepit_bridge_SetVariableRequest__Input, _snakepit_bridge_SetVariableRequest__Output>
      SetVariableResponse: MessageTypeDefinition<_snakepit_bridge_SetVariableResponse__Input, _snakepit_bridge_SetVariableResponse__Output>
      ToolSpec: MessageTypeDefinition<_snakepit_bridge_ToolSpec__Input, _snakepit_bridge_ToolSpec__Output>
      Variable: MessageTypeDefinition<_snakepit_bridge_Variable__Input, _snakepit_bridge_Variable__Output>
      VariableUpdate: MessageTypeDefinition<_snakepit_bridge_VariableUpdate__Input, _snakepit_bridge_VariableUpdate__Output>
      WatchVariablesRequest: MessageTypeDefinition<_snakepit_bridge_WatchVariablesRequest__Input, _snakepit_bridge_WatchVariablesRequest__Output>
    }
  }
}

