// Original file: proto/snakepit_bridge.proto

import type { Variable__Input as _snakepit_bridge_Variable__Input, Variable__Output as _snakepit_bridge_Variable__Output } from '../../snakepit/bridge/Variable.js';
import type { Timestamp__Input as _google_protobuf_Timestamp__Input, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp.js';
import type { Any__Input as _google_protobuf_Any__Input, Any__Output as _google_protobuf_Any__Output } from '../../google/protobuf/Any.js';

export interface VariableUpdate__Input {
  'variable_id'?: (string);
  'variable'?: (_snakepit_bridge_Variable__Input | null);
  'update_source'?: (string);
  'update_metadata'?: ({[key: string]: string});
  'timestamp'?: (_google_protobuf_Timestamp__Input | null);
  /**
   * "initial_value", "value_change", "deleted", "heartbeat" (variable_id empty), and, as
   * extensions, "registered" (a variable registered after the watch began) and "resumed"
   * (variable_id empty: resume_after was honoured, no snapshot follows).
   */
  'update_type'?: (string);
  /**
   * Extensions (this bridge).
   */
  'previous_value'?: (_google_protobuf_Any__Input | null);
  /**
   * True when the watcher fell behind and this message stands for every change to the variable
   * since the last one it received: the latest state, without previous_value.
   */
  'conflated'?: (boolean);
  /**
   * Where the store keeps a shared change feed (Redis): this change's position in it, for
   * WatchVariablesRequest.resume_after. Empty on snapshots, heartbeats and in-memory stores.
   */
  'cursor'?: (string);
}

export interface VariableUpdate__Output {
  'variable_id': (string);
  'variable': (_snakepit_bridge_Variable__Output | null);
  'update_source': (string);
  'update_metadata': ({[key: string]: string});
  'timestamp': (_google_protobuf_Timestamp__Output | null);
  /**
   * "initial_value", "value_change", "deleted", "heartbeat" (variable_id empty), and, as
   * extensions, "registered" (a variable registered after the watch began) and "resumed"
   * (variable_id empty: resume_after was honoured, no snapshot follows).
   */
  'update_type': (string);
  /**
   * Extensions (this bridge).
   */
  'previous_value': (_google_protobuf_Any__Output | null);
  /**
   * True when the watcher fell behind and this message stands for every change to the variable
   * since the last one it received: the latest state, without previous_value.
   */
  'conflated': (boolean);
  /**
   * Where the store keeps a shared change feed (Redis): this change's position in it, for
   * WatchVariablesRequest.resume_after. Empty on snapshots, heartbeats and in-memory stores.
   */
  'cursor': (string);
}
