// Original file: proto/snakepit_bridge.proto

import type { Any__Input as _google_protobuf_Any__Input, Any__Output as _google_protobuf_Any__Output } from '../../google/protobuf/Any.js';

export interface RegisterVariableRequest__Input {
  'session_id'?: (string);
  'name'?: (string);
  'type'?: (string);
  'initial_value'?: (_google_protobuf_Any__Input | null);
  'constraints_json'?: (string);
  'metadata'?: ({[key: string]: string});
  'initial_binary_value'?: (Buffer | Uint8Array | string);
  /**
   * Extension: as in SetVariableRequest; a retried registration answers the first one's id
   * instead of ALREADY_EXISTS.
   */
  'request_id'?: (string);
}

export interface RegisterVariableRequest__Output {
  'session_id': (string);
  'name': (string);
  'type': (string);
  'initial_value': (_google_protobuf_Any__Output | null);
  'constraints_json': (string);
  'metadata': ({[key: string]: string});
  'initial_binary_value': (Buffer);
  /**
   * Extension: as in SetVariableRequest; a retried registration answers the first one's id
   * instead of ALREADY_EXISTS.
   */
  'request_id': (string);
}
