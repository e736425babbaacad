// Original file: proto/snakepit_bridge.proto

import type { Any__Input as _google_protobuf_Any__Input, Any__Output as _google_protobuf_Any__Output } from '../../google/protobuf/Any.js';
import type { Timestamp__Input as _google_protobuf_Timestamp__Input, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp.js';
import type { OptimizationStatus__Input as _snakepit_bridge_OptimizationStatus__Input, OptimizationStatus__Output as _snakepit_bridge_OptimizationStatus__Output } from '../../snakepit/bridge/OptimizationStatus.js';

// Original file: proto/snakepit_bridge.proto

export const _snakepit_bridge_Variable_Source = {
  ELIXIR: 'ELIXIR',
  PYTHON: 'PYTHON',
} as const;

export type _snakepit_bridge_Variable_Source__Input =
  | 'ELIXIR'
  | 0
  | 'PYTHON'
  | 1

export type _snakepit_bridge_Variable_Source__Output = typeof _snakepit_bridge_Variable_Source[keyof typeof _snakepit_bridge_Variable_Source]

export interface Variable__Input {
  'id'?: (string);
  'name'?: (string);
  'type'?: (string);
  'value'?: (_google_protobuf_Any__Input | null);
  'constraints_json'?: (string);
  'metadata'?: ({[key: string]: string});
  'source'?: (_snakepit_bridge_Variable_Source__Input);
  'last_updated_at'?: (_google_protobuf_Timestamp__Input | null);
  'version'?: (number);
  'access_control_json'?: (string);
  'optimization_status'?: (_snakepit_bridge_OptimizationStatus__Input | null);
  'binary_value'?: (Buffer | Uint8Array | string);
  /**
   * Extensions (this bridge).
   */
  'created_at'?: (_google_protobuf_Timestamp__Input | null);
  /**
   * The writer's own name for itself ("typescript", "python", ...); `source` only has two values.
   */
  'source_name'?: (string);
}

export interface Variable__Output {
  'id': (string);
  'name': (string);
  'type': (string);
  'value': (_google_protobuf_Any__Output | null);
  'constraints_json': (string);
  'metadata': ({[key: string]: string});
  'source': (_snakepit_bridge_Variable_Source__Output);
  'last_updated_at': (_google_protobuf_Timestamp__Output | null);
  'version': (number);
  'access_control_json': (string);
  'optimization_status': (_snakepit_bridge_OptimizationStatus__Output | null);
  'binary_value': (Buffer);
  /**
   * Extensions (this bridge).
   */
  'created_at': (_google_protobuf_Timestamp__Output | null);
  /**
   * The writer's own name for itself ("typescript", "python", ...); `source` only has two values.
   */
  'source_name': (string);
}
