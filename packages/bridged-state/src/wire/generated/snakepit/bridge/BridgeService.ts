// Original file: proto/snakepit_bridge.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { BatchGetVariablesRequest__Input as _snakepit_bridge_BatchGetVariablesRequest__Input, BatchGetVariablesRequest__Output as _snakepit_bridge_BatchGetVariablesRequest__Output } from '../../snakepit/bridge/BatchGetVariablesRequest.js';
import type { BatchGetVariablesResponse__Input as _snakepit_bridge_BatchGetVariablesResponse__Input, BatchGetVariablesResponse__Output as _snakepit_bridge_BatchGetVariablesResponse__Output } from '../../snakepit/bridge/BatchGetVariablesResponse.js';
import type { BatchSetVariablesRequest__Input as _snakepit_bridge_BatchSetVariablesRequest__Input, BatchSetVariablesRequest__Output as _snakepit_bridge_BatchSetVariablesRequest__Output } from '../../snakepit/bridge/BatchSetVariablesRequest.js';
import type { BatchSetVariablesResponse__Input as _snakepit_bridge_BatchSetVariablesResponse__Input, BatchSetVariablesResponse__Output as _snakepit_bridge_BatchSetVariablesResponse__Output } from '../../snakepit/bridge/BatchSetVariablesResponse.js';
import type { CleanupSessionRequest__Input as _snakepit_bridge_CleanupSessionRequest__Input, CleanupSessionRequest__Output as _snakepit_bridge_CleanupSessionRequest__Output } from '../../snakepit/bridge/CleanupSessionRequest.js';
import type { CleanupSessionResponse__Input as _snakepit_bridge_CleanupSessionResponse__Input, CleanupSessionResponse__Output as _snakepit_bridge_CleanupSessionResponse__Output } from '../../snakepit/bridge/CleanupSessionResponse.js';
import type { DeleteVariableRequest__Input as _snakepit_bridge_DeleteVariableRequest__Input, DeleteVariableRequest__Output as _snakepit_bridge_DeleteVariableRequest__Output } from '../../snakepit/bridge/DeleteVariableRequest.js';
import type { DeleteVariableResponse__Input as _snakepit_bridge_DeleteVariableResponse__Input, DeleteVariableResponse__Output as _snakepit_bridge_DeleteVariableResponse__Output } from '../../snakepit/bridge/DeleteVariableResponse.js';
import type { GetExposedElixirToolsRequest__Input as _snakepit_bridge_GetExposedElixirToolsRequest__Input, GetExposedElixirToolsRequest__Output as _snakepit_bridge_GetExposedElixirToolsRequest__Output } from '../../snakepit/bridge/GetExposedElixirToolsRequest.js';
import type { GetExposedElixirToolsResponse__Input as _snakepit_bridge_GetExposedElixirToolsResponse__Input, GetExposedElixirToolsResponse__Output as _snakepit_bridge_GetExposedElixirToolsResponse__Output } from '../../snakepit/bridge/GetExposedElixirToolsResponse.js';
import type { GetSessionRequest__Input as _snakepit_bridge_GetSessionRequest__Input, GetSessionRequest__Output as _snakepit_bridge_GetSessionRequest__Output } from '../../snakepit/bridge/GetSessionRequest.js';
import type { GetSessionResponse__Input as _snakepit_bridge_GetSessionResponse__Input, GetSessionResponse__Output as _snakepit_bridge_GetSessionResponse__Output } from '../../snakepit/bridge/GetSessionResponse.js';
import type { GetVariableHistoryRequest__Input as _snakepit_bridge_GetVariableHistoryRequest__Input, GetVariableHistoryRequest__Output as _snakepit_bridge_GetVariableHistoryRequest__Output } from '../../snakepit/bridge/GetVariableHistoryRequest.js';
import type { GetVariableHistoryResponse__Input as _snakepit_bridge_GetVariableHistoryResponse__Input, GetVariableHistoryResponse__Output as _snakepit_bridge_GetVariableHistoryResponse__Output } from '../../snakepit/bridge/GetVariableHistoryResponse.js';
import type { GetVariableRequest__Input as _snakepit_bridge_GetVariableRequest__Input, GetVariableRequest__Output as _snakepit_bridge_GetVariableRequest__Output } from '../../snakepit/bridge/GetVariableRequest.js';
import type { GetVariableResponse__Input as _snakepit_bridge_GetVariableResponse__Input, GetVariableResponse__Output as _snakepit_bridge_GetVariableResponse__Output } from '../../snakepit/bridge/GetVariableResponse.js';
import type { HeartbeatRequest__Input as _snakepit_bridge_HeartbeatRequest__Input, HeartbeatRequest__Output as _snakepit_bridge_HeartbeatRequest__Output } from '../../snakepit/bridge/HeartbeatRequest.js';
import type { HeartbeatResponse__Input as _snakepit_bridge_HeartbeatResponse__Input, HeartbeatResponse__Output as _snakepit_bridge_HeartbeatResponse__Output } from '../../snakepit/bridge/HeartbeatResponse.js';
import type { ImportStateRequest__Input as _snakepit_bridge_ImportStateRequest__Input, ImportStateRequest__Output as _snakepit_bridge_ImportStateRequest__Output } from '../../snakepit/bridge/ImportStateRequest.js';
import type { ImportStateResponse__Input as _snakepit_bridge_ImportStateResponse__Input, ImportStateResponse__Output as _snakepit_bridge_ImportStateResponse__Output } from '../../snakepit/bridge/ImportStateResponse.js';
import type { InitializeSessionRequest__Input as _snakepit_bridge_InitializeSessionRequest__Input, InitializeSessionRequest__Output as _snakepit_bridge_InitializeSessionRequest__Output } from '../../snakepit/bridge/InitializeSessionRequest.js';
import type { InitializeSessionResponse__Input as _snakepit_bridge_InitializeSessionResponse__Input, InitializeSessionResponse__Output as _snakepit_bridge_InitializeSessionResponse__Output } from '../../snakepit/bridge/InitializeSessionResponse.js';
import type { ListVariablesRequest__Input as _snakepit_bridge_ListVariablesRequest__Input, ListVariablesRequest__Output as _snakepit_bridge_ListVariablesRequest__Output } from '../../snakepit/bridge/ListVariablesRequest.js';
import type { ListVariablesResponse__Input as _snakepit_bridge_ListVariablesResponse__Input, ListVariablesResponse__Output as _snakepit_bridge_ListVariablesResponse__Output } from '../../snakepit/bridge/ListVariablesResponse.js';
import type { PingRequest__Input as _snakepit_bridge_PingRequest__Input, PingRequest__Output as _snakepit_bridge_PingRequest__Output } from '../../snakepit/bridge/PingRequest.js';
import type { PingResponse__Input as _snakepit_bridge_PingResponse__Input, PingResponse__Output as _snakepit_bridge_PingResponse__Output } from '../../snakepit/bridge/PingResponse.js';
import type { RegisterVariableRequest__Input as _snakepit_bridge_RegisterVariableRequest__Input, RegisterVariableRequest__Output as _snakepit_bridge_RegisterVariableRequest__Output } from '../../snakepit/bridge/RegisterVariableRequest.js';
import type { RegisterVariableResponse__Input as _snakepit_bridge_RegisterVariableResponse__Input, RegisterVariableResponse__Output as _snakepit_bridge_RegisterVariableResponse__Output } from '../../snakepit/bridge/RegisterVariableResponse.js';
import type { SetVariableRequest__Input as _snakepit_bridge_SetVariableRequest__Input, SetVariableRequest__Output as _snakepit_bridge_SetVariableRequest__Output } from '../../snakepit/bridge/SetVariableRequest.js';
import type { SetVariableResponse__Input as _snakepit_bridge_SetVariableResponse__Input, SetVariableResponse__Output as _snakepit_bridge_SetVariableResponse__Output } from '../../snakepit/bridge/SetVariableResponse.js';
import type { VariableUpdate__Input as _snakepit_bridge_VariableUpdate__Input, VariableUpdate__Output as _snakepit_bridge_VariableUpdate__Output } from '../../snakepit/bridge/VariableUpdate.js';
import type { WatchVariablesRequest__Input as _snakepit_bridge_WatchVariablesRequest__Input, WatchVariablesRequest__Output as _snakepit_bridge_WatchVariablesRequest__Output } from '../../snakepit/bridge/WatchVariablesRequest.js';

export interface BridgeServiceClient extends grpc.Client {
  CleanupSession(argument: _snakepit_bridge_CleanupSessionRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_CleanupSessionResponse__Output>): grpc.ClientUnaryCall;
  CleanupSession(argument: _snakepit_bridge_CleanupSessionRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_snakepit_bridge_CleanupSessionResponse__Output>): grpc.ClientUnaryCall;
  CleanupSession(argument: _snakepit_bridge_CleanupSessionRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_CleanupSessionResponse__Output>): grpc.ClientUnaryCall;
  CleanupSession(argument: _snakepit_bridge_CleanupSessionRequest__Input, callback: grpc.requestCallback<_snakepit_bridge_CleanupSessionResponse__Output>): grpc.ClientUnaryCall;
  cleanupSession(argument: _snakepit_bridge_CleanupSessionRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_CleanupSessionResponse__Output>): grpc.ClientUnaryCall;
  cleanupSession(argument: _snakepit_bridge_CleanupSessionRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_snakepit_bridge_CleanupSessionResponse__Output>): grpc.ClientUnaryCall;
  cleanupSession(argument: _snakepit_bridge_CleanupSessionRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_CleanupSessionResponse__Output>): grpc.ClientUnaryCall;
  cleanupSession(argument: _snakepit_bridge_CleanupSessionRequest__Input, callback: grpc.requestCallback<_snakepit_bridge_CleanupSessionResponse__Output>): grpc.ClientUnaryCall;
  
  DeleteVariable(argument: _snakepit_bridge_DeleteVariableRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_DeleteVariableResponse__Output>): grpc.ClientUnaryCall;
  DeleteVariable(argument: _snakepit_bridge_DeleteVariableRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_snakepit_bridge_DeleteVariableResponse__Output>): grpc.ClientUnaryCall;
  DeleteVariable(argument: _snakepit_bridge_DeleteVariableRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_DeleteVariableResponse__Output>): grpc.ClientUnaryCall;
  DeleteVariable(argument: _snakepit_bridge_DeleteVariableRequest__Input, callback: grpc.requestCallback<_snakepit_bridge_DeleteVariableResponse__Output>): grpc.ClientUnaryCall;
  deleteVariable(argument: _snakepit_bridge_DeleteVariableRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_DeleteVariableResponse__Output>): grpc.ClientUnaryCall;
  deleteVariable(argument: _snakepit_bridge_DeleteVariableRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_snakepit_bridge_DeleteVariableResponse__Output>): grpc.ClientUnaryCall;
  deleteVariable(argument: _snakepit_bridge_DeleteVariableRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_DeleteVariableResponse__Output>): grpc.ClientUnaryCall;
  deleteVariable(argument: _snakepit_bridge_DeleteVariableRequest__Input, callback: grpc.requestCallback<_snakepit_bridge_DeleteVariableResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Existing Python clients call this when they start; this bridge exposes no tools.
   */
  GetExposedElixirTools(argument: _snakepit_bridge_GetExposedElixirToolsRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_GetExposedElixirToolsResponse__Output>): grpc.ClientUnaryCall;
  GetExposedElixirTools(argument: _snakepit_bridge_GetExposedElixirToolsRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_snakepit_bridge_GetExposedElixirToolsResponse__Output>): grpc.ClientUnaryCall;
  GetExposedElixirTools(argument: _snakepit_bridge_GetExposedElixirToolsRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_GetExposedElixirToolsResponse__Output>): grpc.ClientUnaryCall;
  GetExposedElixirTools(argument: _snakepit_bridge_GetExposedElixirToolsRequest__Input, callback: grpc.requestCallback<_snakepit_bridge_GetExposedElixirToolsResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Existing Python clients call this when they start; this bridge exposes no tools.
   */
  getExposedElixirTools(argument: _snakepit_bridge_GetExposedElixirToolsRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_GetExposedElixirToolsResponse__Output>): grpc.ClientUnaryCall;
  getExposedElixirTools(argument: _snakepit_bridge_GetExposedElixirToolsRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_snakepit_bridge_GetExposedElixirToolsResponse__Output>): grpc.ClientUnaryCall;
  getExposedElixirTools(argument: _snakepit_bridge_GetExposedElixirToolsRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_GetExposedElixirToolsResponse__Output>): grpc.ClientUnaryCall;
  getExposedElixirTools(argument: _snakepit_bridge_GetExposedElixirToolsRequest__Input, callback: grpc.requestCallback<_snakepit_bridge_GetExposedElixirToolsResponse__Output>): grpc.ClientUnaryCall;
  
  GetSession(argument: _snakepit_bridge_GetSessionRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_GetSessionResponse__Output>): grpc.ClientUnaryCall;
  GetSession(argument: _snakepit_bridge_GetSessionRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_snakepit_bridge_GetSessionResponse__Output>): grpc.ClientUnaryCall;
  GetSession(argument: _snakepit_bridge_GetSessionRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_GetSessionResponse__Output>): grpc.ClientUnaryCall;
  GetSession(argument: _snakepit_bridge_GetSessionRequest__Input, callback: grpc.requestCallback<_snakepit_bridge_GetSessionResponse__Output>): grpc.ClientUnaryCall;
  getSession(argument: _snakepit_bridge_GetSessionRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_GetSessionResponse__Output>): grpc.ClientUnaryCall;
  getSession(argument: _snakepit_bridge_GetSessionRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_snakepit_bridge_GetSessionResponse__Output>): grpc.ClientUnaryCall;
  getSession(argument: _snakepit_bridge_GetSessionRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_GetSessionResponse__Output>): grpc.ClientUnaryCall;
  getSession(argument: _snakepit_bridge_GetSessionRequest__Input, callback: grpc.requestCallback<_snakepit_bridge_GetSessionResponse__Output>): grpc.ClientUnaryCall;
  
  GetVariable(argument: _snakepit_bridge_GetVariableRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_GetVariableResponse__Output>): grpc.ClientUnaryCall;
  GetVariable(argument: _snakepit_bridge_GetVariableRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_snakepit_bridge_GetVariableResponse__Output>): grpc.ClientUnaryCall;
  GetVariable(argument: _snakepit_bridge_GetVariableRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_GetVariableResponse__Output>): grpc.ClientUnaryCall;
  GetVariable(argument: _snakepit_bridge_GetVariableRequest__Input, callback: grpc.requestCallback<_snakepit_bridge_GetVariableResponse__Output>): grpc.ClientUnaryCall;
  getVariable(argument: _snakepit_bridge_GetVariableRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_GetVariableResponse__Output>): grpc.ClientUnaryCall;
  getVariable(argument: _snakepit_bridge_GetVariableRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_snakepit_bridge_GetVariableResponse__Output>): grpc.ClientUnaryCall;
  getVariable(argument: _snakepit_bridge_GetVariableRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_GetVariableResponse__Output>): grpc.ClientUnaryCall;
  getVariable(argument: _snakepit_bridge_GetVariableRequest__Input, callback: grpc.requestCallback<_snakepit_bridge_GetVariableResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Extension (this bridge): a variable's retained versions, newest first (the current one
   * first), each as the Variable it was; NOT_FOUND for an unknown session or variable.
   */
  GetVariableHistory(argument: _snakepit_bridge_GetVariableHistoryRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_GetVariableHistoryResponse__Output>): grpc.ClientUnaryCall;
  GetVariableHistory(argument: _snakepit_bridge_GetVariableHistoryRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_snakepit_bridge_GetVariableHistoryResponse__Output>): grpc.ClientUnaryCall;
  GetVariableHistory(argument: _snakepit_bridge_GetVariableHistoryRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_GetVariableHistoryResponse__Output>): grpc.ClientUnaryCall;
  GetVariableHistory(argument: _snakepit_bridge_GetVariableHistoryRequest__Input, callback: grpc.requestCallback<_snakepit_bridge_GetVariableHistoryResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Extension (this bridge): a variable's retained versions, newest first (the current one
   * first), each as the Variable it was; NOT_FOUND for an unknown session or variable.
   */
  getVariableHistory(argument: _snakepit_bridge_GetVariableHistoryRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_GetVariableHistoryResponse__Output>): grpc.ClientUnaryCall;
  getVariableHistory(argument: _snakepit_bridge_GetVariableHistoryRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_snakepit_bridge_GetVariableHistoryResponse__Output>): grpc.ClientUnaryCall;
  getVariableHistory(argument: _snakepit_bridge_GetVariableHistoryRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_GetVariableHistoryResponse__Output>): grpc.ClientUnaryCall;
  getVariableHistory(argument: _snakepit_bridge_GetVariableHistoryRequest__Input, callback: grpc.requestCallback<_snakepit_bridge_GetVariableHistoryResponse__Output>): grpc.ClientUnaryCall;
  
  GetVariables(argument: _snakepit_bridge_BatchGetVariablesRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_BatchGetVariablesResponse__Output>): grpc.ClientUnaryCall;
  GetVariables(argument: _snakepit_bridge_BatchGetVariablesRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_snakepit_bridge_BatchGetVariablesResponse__Output>): grpc.ClientUnaryCall;
  GetVariables(argument: _snakepit_bridge_BatchGetVariablesRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_BatchGetVariablesResponse__Output>): grpc.ClientUnaryCall;
  GetVariables(argument: _snakepit_bridge_BatchGetVariablesRequest__Input, callback: grpc.requestCallback<_snakepit_bridge_BatchGetVariablesResponse__Output>): grpc.ClientUnaryCall;
  getVariables(argument: _snakepit_bridge_BatchGetVariablesRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_BatchGetVariablesResponse__Output>): grpc.ClientUnaryCall;
  getVariables(argument: _snakepit_bridge_BatchGetVariablesRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_snakepit_bridge_BatchGetVariablesResponse__Output>): grpc.ClientUnaryCall;
  getVariables(argument: _snakepit_bridge_BatchGetVariablesRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_BatchGetVariablesResponse__Output>): grpc.ClientUnaryCall;
  getVariables(argument: _snakepit_bridge_BatchGetVariablesRequest__Input, callback: grpc.requestCallback<_snakepit_bridge_BatchGetVariablesResponse__Output>): grpc.ClientUnaryCall;
  
  Heartbeat(argument: _snakepit_bridge_HeartbeatRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _snakepit_bridge_HeartbeatRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_snakepit_bridge_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _snakepit_bridge_HeartbeatRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _snakepit_bridge_HeartbeatRequest__Input, callback: grpc.requestCallback<_snakepit_bridge_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _snakepit_bridge_HeartbeatRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _snakepit_bridge_HeartbeatRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_snakepit_bridge_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _snakepit_bridge_HeartbeatRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _snakepit_bridge_HeartbeatRequest__Input, callback: grpc.requestCallback<_snakepit_bridge_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Extension (this bridge): merges a `dspex.state` export document into the session, all or
   * nothing, keeping ids, versions, timestamps and sources (what a remote importState needs).
   */
  ImportState(argument: _snakepit_bridge_ImportStateRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_ImportStateResponse__Output>): grpc.ClientUnaryCall;
  ImportState(argument: _snakepit_bridge_ImportStateRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_snakepit_bridge_ImportStateResponse__Output>): grpc.ClientUnaryCall;
  ImportState(argument: _snakepit_bridge_ImportStateRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_ImportStateResponse__Output>): grpc.ClientUnaryCall;
  ImportState(argument: _snakepit_bridge_ImportStateRequest__Input, callback: grpc.requestCallback<_snakepit_bridge_ImportStateResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Extension (this bridge): merges a `dspex.state` export document into the session, all or
   * nothing, keeping ids, versions, timestamps and sources (what a remote importState needs).
   */
  importState(argument: _snakepit_bridge_ImportStateRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_ImportStateResponse__Output>): grpc.ClientUnaryCall;
  importState(argument: _snakepit_bridge_ImportStateRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_snakepit_bridge_ImportStateResponse__Output>): grpc.ClientUnaryCall;
  importState(argument: _snakepit_bridge_ImportStateRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_ImportStateResponse__Output>): grpc.ClientUnaryCall;
  importState(argument: _snakepit_bridge_ImportStateRequest__Input, callback: grpc.requestCallback<_snakepit_bridge_ImportStateResponse__Output>): grpc.ClientUnaryCall;
  
  InitializeSession(argument: _snakepit_bridge_InitializeSessionRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_InitializeSessionResponse__Output>): grpc.ClientUnaryCall;
  InitializeSession(argument: _snakepit_bridge_InitializeSessionRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_snakepit_bridge_InitializeSessionResponse__Output>): grpc.ClientUnaryCall;
  InitializeSession(argument: _snakepit_bridge_InitializeSessionRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_InitializeSessionResponse__Output>): grpc.ClientUnaryCall;
  InitializeSession(argument: _snakepit_bridge_InitializeSessionRequest__Input, callback: grpc.requestCallback<_snakepit_bridge_InitializeSessionResponse__Output>): grpc.ClientUnaryCall;
  initializeSession(argument: _snakepit_bridge_InitializeSessionRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_InitializeSessionResponse__Output>): grpc.ClientUnaryCall;
  initializeSession(argument: _snakepit_bridge_InitializeSessionRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_snakepit_bridge_InitializeSessionResponse__Output>): grpc.ClientUnaryCall;
  initializeSession(argument: _snakepit_bridge_InitializeSessionRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_InitializeSessionResponse__Output>): grpc.ClientUnaryCall;
  initializeSession(argument: _snakepit_bridge_InitializeSessionRequest__Input, callback: grpc.requestCallback<_snakepit_bridge_InitializeSessionResponse__Output>): grpc.ClientUnaryCall;
  
  ListVariables(argument: _snakepit_bridge_ListVariablesRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_ListVariablesResponse__Output>): grpc.ClientUnaryCall;
  ListVariables(argument: _snakepit_bridge_ListVariablesRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_snakepit_bridge_ListVariablesResponse__Output>): grpc.ClientUnaryCall;
  ListVariables(argument: _snakepit_bridge_ListVariablesRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_ListVariablesResponse__Output>): grpc.ClientUnaryCall;
  ListVariables(argument: _snakepit_bridge_ListVariablesRequest__Input, callback: grpc.requestCallback<_snakepit_bridge_ListVariablesResponse__Output>): grpc.ClientUnaryCall;
  listVariables(argument: _snakepit_bridge_ListVariablesRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_ListVariablesResponse__Output>): grpc.ClientUnaryCall;
  listVariables(argument: _snakepit_bridge_ListVariablesRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_snakepit_bridge_ListVariablesResponse__Output>): grpc.ClientUnaryCall;
  listVariables(argument: _snakepit_bridge_ListVariablesRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_ListVariablesResponse__Output>): grpc.ClientUnaryCall;
  listVariables(argument: _snakepit_bridge_ListVariablesRequest__Input, callback: grpc.requestCallback<_snakepit_bridge_ListVariablesResponse__Output>): grpc.ClientUnaryCall;
  
  Ping(argument: _snakepit_bridge_PingRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_PingResponse__Output>): grpc.ClientUnaryCall;
  Ping(argument: _snakepit_bridge_PingRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_snakepit_bridge_PingResponse__Output>): grpc.ClientUnaryCall;
  Ping(argument: _snakepit_bridge_PingRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_PingResponse__Output>): grpc.ClientUnaryCall;
  Ping(argument: _snakepit_bridge_PingRequest__Input, callback: grpc.requestCallback<_snakepit_bridge_PingResponse__Output>): grpc.ClientUnaryCall;
  ping(argument: _snakepit_bridge_PingRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_PingResponse__Output>): grpc.ClientUnaryCall;
  ping(argument: _snakepit_bridge_PingRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_snakepit_bridge_PingResponse__Output>): grpc.ClientUnaryCall;
  ping(argument: _snakepit_bridge_PingRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_PingResponse__Output>): grpc.ClientUnaryCall;
  ping(argument: _snakepit_bridge_PingRequest__Input, callback: grpc.requestCallback<_snakepit_bridge_PingResponse__Output>): grpc.ClientUnaryCall;
  
  RegisterVariable(argument: _snakepit_bridge_RegisterVariableRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_RegisterVariableResponse__Output>): grpc.ClientUnaryCall;
  RegisterVariable(argument: _snakepit_bridge_RegisterVariableRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_snakepit_bridge_RegisterVariableResponse__Output>): grpc.ClientUnaryCall;
  RegisterVariable(argument: _snakepit_bridge_RegisterVariableRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_RegisterVariableResponse__Output>): grpc.ClientUnaryCall;
  RegisterVariable(argument: _snakepit_bridge_RegisterVariableRequest__Input, callback: grpc.requestCallback<_snakepit_bridge_RegisterVariableResponse__Output>): grpc.ClientUnaryCall;
  registerVariable(argument: _snakepit_bridge_RegisterVariableRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_RegisterVariableResponse__Output>): grpc.ClientUnaryCall;
  registerVariable(argument: _snakepit_bridge_RegisterVariableRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_snakepit_bridge_RegisterVariableResponse__Output>): grpc.ClientUnaryCall;
  registerVariable(argument: _snakepit_bridge_RegisterVariableRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_RegisterVariableResponse__Output>): grpc.ClientUnaryCall;
  registerVariable(argument: _snakepit_bridge_RegisterVariableRequest__Input, callback: grpc.requestCallback<_snakepit_bridge_RegisterVariableResponse__Output>): grpc.ClientUnaryCall;
  
  SetVariable(argument: _snakepit_bridge_SetVariableRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_SetVariableResponse__Output>): grpc.ClientUnaryCall;
  SetVariable(argument: _snakepit_bridge_SetVariableRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_snakepit_bridge_SetVariableResponse__Output>): grpc.ClientUnaryCall;
  SetVariable(argument: _snakepit_bridge_SetVariableRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_SetVariableResponse__Output>): grpc.ClientUnaryCall;
  SetVariable(argument: _snakepit_bridge_SetVariableRequest__Input, callback: grpc.requestCallback<_snakepit_bridge_SetVariableResponse__Output>): grpc.ClientUnaryCall;
  setVariable(argument: _snakepit_bridge_SetVariableRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_SetVariableResponse__Output>): grpc.ClientUnaryCall;
  setVariable(argument: _snakepit_bridge_SetVariableRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_snakepit_bridge_SetVariableResponse__Output>): grpc.ClientUnaryCall;
  setVariable(argument: _snakepit_bridge_SetVariableRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_SetVariableResponse__Output>): grpc.ClientUnaryCall;
  setVariable(argument: _snakepit_bridge_SetVariableRequest__Input, callback: grpc.requestCallback<_snakepit_bridge_SetVariableResponse__Output>): grpc.ClientUnaryCall;
  
  SetVariables(argument: _snakepit_bridge_BatchSetVariablesRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_BatchSetVariablesResponse__Output>): grpc.ClientUnaryCall;
  SetVariables(argument: _snakepit_bridge_BatchSetVariablesRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_snakepit_bridge_BatchSetVariablesResponse__Output>): grpc.ClientUnaryCall;
  SetVariables(argument: _snakepit_bridge_BatchSetVariablesRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_BatchSetVariablesResponse__Output>): grpc.ClientUnaryCall;
  SetVariables(argument: _snakepit_bridge_BatchSetVariablesRequest__Input, callback: grpc.requestCallback<_snakepit_bridge_BatchSetVariablesResponse__Output>): grpc.ClientUnaryCall;
  setVariables(argument: _snakepit_bridge_BatchSetVariablesRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_BatchSetVariablesResponse__Output>): grpc.ClientUnaryCall;
  setVariables(argument: _snakepit_bridge_BatchSetVariablesRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_snakepit_bridge_BatchSetVariablesResponse__Output>): grpc.ClientUnaryCall;
  setVariables(argument: _snakepit_bridge_BatchSetVariablesRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_snakepit_bridge_BatchSetVariablesResponse__Output>): grpc.ClientUnaryCall;
  setVariables(argument: _snakepit_bridge_BatchSetVariablesRequest__Input, callback: grpc.requestCallback<_snakepit_bridge_BatchSetVariablesResponse__Output>): grpc.ClientUnaryCall;
  
  WatchVariables(argument: _snakepit_bridge_WatchVariablesRequest__Input, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_snakepit_bridge_VariableUpdate__Output>;
  WatchVariables(argument: _snakepit_bridge_WatchVariablesRequest__Input, options?: grpc.CallOptions): grpc.ClientReadableStream<_snakepit_bridge_VariableUpdate__Output>;
  watchVariables(argument: _snakepit_bridge_WatchVariablesRequest__Input, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_snakepit_bridge_VariableUpdate__Output>;
  watchVariables(argument: _snakepit_bridge_WatchVariablesRequest__Input, options?: grpc.CallOptions): grpc.ClientReadableStream<_snakepit_bridge_VariableUpdate__Output>;
  
}

export interface BridgeServiceHandlers extends grpc.UntypedServiceImplementation {
  CleanupSession: grpc.handleUnaryCall<_snakepit_bridge_CleanupSessionRequest__Output, _snakepit_bridge_CleanupSessionResponse__Input>;
  
  DeleteVariable: grpc.handleUnaryCall<_snakepit_bridge_DeleteVariableRequest__Output, _snakepit_bridge_DeleteVariableResponse__Input>;
  
  /**
   * Existing Python clients call this when they start; this bridge exposes no tools.
   */
  GetExposedElixirTools: grpc.handleUnaryCall<_snakepit_bridge_GetExposedElixirToolsRequest__Output, _snakepit_bridge_GetExposedElixirToolsResponse__Input>;
  
  GetSession: grpc.handleUnaryCall<_snakepit_bridge_GetSessionRequest__Output, _snakepit_bridge_GetSessionResponse__Input>;
  
  GetVariable: grpc.handleUnaryCall<_snakepit_bridge_GetVariableRequest__Output, _snakepit_bridge_GetVariableResponse__Input>;
  
  /**
   * Extension (this bridge): a variable's retained versions, newest first (the current one
   * first), each as the Variable it was; NOT_FOUND for an unknown session or variable.
   */
  GetVariableHistory: grpc.handleUnaryCall<_snakepit_bridge_GetVariableHistoryRequest__Output, _snakepit_bridge_GetVariableHistoryResponse__Input>;
  
  GetVariables: grpc.handleUnaryCall<_snakepit_bridge_BatchGetVariablesRequest__Output, _snakepit_bridge_BatchGetVariablesResponse__Input>;
  
  Heartbeat: grpc.handleUnaryCall<_snakepit_bridge_HeartbeatRequest__Output, _snakepit_bridge_HeartbeatResponse__Input>;
  
  /**
   * Extension (this bridge): merges a `dspex.state` export document into the session, all or
   * nothing, keeping ids, versions, timestamps and sources (what a remote importState needs).
   */
  ImportState: grpc.handleUnaryCall<_snakepit_bridge_ImportStateRequest__Output, _snakepit_bridge_ImportStateResponse__Input>;
  
  InitializeSession: grpc.handleUnaryCall<_snakepit_bridge_InitializeSessionRequest__Output, _snakepit_bridge_InitializeSessionResponse__Input>;
  
  ListVariables: grpc.handleUnaryCall<_snakepit_bridge_ListVariablesRequest__Output, _snakepit_bridge_ListVariablesResponse__Input>;
  
  Ping: grpc.handleUnaryCall<_snakepit_bridge_PingRequest__Output, _snakepit_bridge_PingResponse__Input>;
  
  RegisterVariable: grpc.handleUnaryCall<_snakepit_bridge_RegisterVariableRequest__Output, _snakepit_bridge_RegisterVariableResponse__Input>;
  
  SetVariable: grpc.handleUnaryCall<_snakepit_bridge_SetVariableRequest__Output, _snakepit_bridge_SetVariableResponse__Input>;
  
  SetVariables: grpc.handleUnaryCall<_snakepit_bridge_BatchSetVariablesRequest__Output, _snakepit_bridge_BatchSetVariablesResponse__Input>;
  
  WatchVariables: grpc.handleServerStreamingCall<_snakepit_bridge_WatchVariablesRequest__Output, _snakepit_bridge_VariableUpdate__Input>;
  
}

export interface BridgeServiceDefinition extends grpc.ServiceDefinition {
  CleanupSession: MethodDefinition<_snakepit_bridge_CleanupSessionRequest__Input, _snakepit_bridge_CleanupSessionResponse__Input, _snakepit_bridge_CleanupSessionRequest__Output, _snakepit_bridge_CleanupSessionResponse__Output>
  DeleteVariable: MethodDefinition<_snakepit_bridge_DeleteVariableRequest__Input, _snakepit_bridge_DeleteVariableResponse__Input, _snakepit_bridge_DeleteVariableRequest__Output, _snakepit_bridge_DeleteVariableResponse__Output>
  GetExposedElixirTools: MethodDefinition<_snakepit_bridge_GetExposedElixirToolsRequest__Input, _snakepit_bridge_GetExposedElixirToolsResponse__Input, _snakepit_bridge_GetExposedElixirToolsRequest__Output, _snakepit_bridge_GetExposedElixirToolsResponse__Output>
  GetSession: MethodDefinition<_snakepit_bridge_GetSessionRequest__Input, _snakepit_bridge_GetSessionResponse__Input, _snakepit_bridge_GetSessionRequest__Output, _snakepit_bridge_GetSessionResponse__Output>
  GetVariable: MethodDefinition<_snakepit_bridge_GetVariableRequest__Input, _snakepit_bridge_GetVariableResponse__Input, _snakepit_bridge_GetVariableRequest__Output, _snakepit_bridge_GetVariableResponse__Output>
  GetVariableHistory: MethodDefinition<_snakepit_bridge_GetVariableHistoryRequest__Input, _snakepit_bridge_GetVariableHistoryResponse__Input, _snakepit_bridge_GetVariableHistoryRequest__Output, _snakepit_bridge_GetVariableHistoryResponse__Output>
  GetVariables: MethodDefinition<_snakepit_bridge_BatchGetVariablesRequest__Input, _snakepit_bridge_BatchGetVariablesResponse__Input, _snakepit_bridge_BatchGetVariablesRequest__Output, _snakepit_bridge_BatchGetVariablesResponse__Output>
  Heartbeat: MethodDefinition<_snakepit_bridge_HeartbeatRequest__Input, _snakepit_bridge_HeartbeatResponse__Input, _snakepit_bridge_HeartbeatRequest__Output, _snakepit_bridge_HeartbeatResponse__Output>
  ImportState: MethodDefinition<_snakepit_bridge_ImportStateRequest__Input, _snakepit_bridge_ImportStateResponse__Input, _snakepit_bridge_ImportStateRequest__Output, _snakepit_bridge_ImportStateResponse__Output>
  InitializeSession: MethodDefinition<_snakepit_bridge_InitializeSessionRequest__Input, _snakepit_bridge_InitializeSessionResponse__Input, _snakepit_bridge_InitializeSessionRequest__Output, _snakepit_bridge_InitializeSessionResponse__Output>
  ListVariables: MethodDefinition<_snakepit_bridge_ListVariablesRequest__Input, _snakepit_bridge_ListVariablesResponse__Input, _snakepit_bridge_ListVariablesRequest__Output, _snakepit_bridge_ListVariablesResponse__Output>
  Ping: MethodDefinition<_snakepit_bridge_PingRequest__Input, _snakepit_bridge_PingResponse__Input, _snakepit_bridge_PingRequest__Output, _snakepit_bridge_PingResponse__Output>
  RegisterVariable: MethodDefinition<_snakepit_bridge_RegisterVariableRequest__Input, _snakepit_bridge_RegisterVariableResponse__Input, _snakepit_bridge_RegisterVariableRequest__Output, _snakepit_bridge_RegisterVariableResponse__Output>
  SetVariable: MethodDefinition<_snakepit_bridge_SetVariableRequest__Input, _snakepit_bridge_SetVariableResponse__Input, _snakepit_bridge_SetVariableRequest__Output, _snakepit_bridge_SetVariableResponse__Output>
  SetVariables: MethodDefinition<_snakepit_bridge_BatchSetVariablesRequest__Input, _snakepit_bridge_BatchSetVariablesResponse__Input, _snakepit_bridge_BatchSetVariablesRequest__Output, _snakepit_bridge_BatchSetVariablesResponse__Output>
  WatchVariables: MethodDefinition<_snakepit_bridge_WatchVariablesRequest__Input, _snakepit_bridge_VariableUpdate__Input, _snakepit_bridge_WatchVariablesRequest__Output, _snakepit_bridge_VariableUpdate__Output>
}
