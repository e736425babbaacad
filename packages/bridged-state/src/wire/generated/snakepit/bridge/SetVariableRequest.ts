// Original file: proto/snakepit_bridge.proto

import type { Any__Input as _google_protobuf_Any__Input, Any__Output as _google_protobuf_Any__Output } from '../../google/protobuf/Any.js';

export interface SetVariableRequest__Input {
  'session_id'?: (string);
  'variable_identifier'?: (string);
  'value'?: (_google_protobuf_Any__Input | null);
  'metadata'?: ({[key: string]: string});
  /**
   * 0 means no expectation (proto3 cannot tell 0 from unset); versions start at 1.
   */
  'expected_version'?: (number);
  'binary_value'?: (Buffer | Uint8Array | string);
  /**
   * Extension: an idempotency key (1-128 characters). A write sent again with the same key,
   * through this bridge or another on the same store, answers the first outcome instead of
   * applying twice, where the store keeps recent keys (a Redis store does; see the README).
   */
  'request_id'?: (string);
}

export interface SetVariableRequest__Output {
  'session_id': (string);
  'variable_identifier': (string);
  'value': (_google_protobuf_Any__Output | null);
  'metadata': ({[key: string]: string});
  /**
   * 0 means no expectation (proto3 cannot tell 0 from unset); versions start at 1.
   */
  'expected_version': (number);
  'binary_value': (Buffer);
  /**
   * Extension: an idempotency key (1-128 characters). A write sent again with the same key,
   * through this bridge or another on the same store, answers the first outcome instead of
   * applying twice, where the store keeps recent keys (a Redis store does; see the README).
   */
  'request_id': (string);
}
