// Original file: proto/snakepit_bridge.proto

import type { Any__Input as _google_protobuf_Any__Input, Any__Output as _google_protobuf_Any__Output } from '../../google/protobuf/Any.js';

export interface BatchSetVariablesRequest__Input {
  'session_id'?: (string);
  'updates'?: ({[key: string]: _google_protobuf_Any__Input});
  'metadata'?: ({[key: string]: string});
  'atomic'?: (boolean);
  'binary_updates'?: ({[key: string]: Buffer | Uint8Array | string});
  /**
   * Extension: compare-and-set per identifier; a missing entry or 0 means no expectation.
   */
  'expected_versions'?: ({[key: string]: number});
  /**
   * Extension: as in SetVariableRequest.
   */
  'request_id'?: (string);
}

export interface BatchSetVariablesRequest__Output {
  'session_id': (string);
  'updates': ({[key: string]: _google_protobuf_Any__Output});
  'metadata': ({[key: string]: string});
  'atomic': (boolean);
  'binary_updates': ({[key: string]: Buffer});
  /**
   * Extension: compare-and-set per identifier; a missing entry or 0 means no expectation.
   */
  'expected_versions': ({[key: string]: number});
  /**
   * Extension: as in SetVariableRequest.
   */
  'request_id': (string);
}
