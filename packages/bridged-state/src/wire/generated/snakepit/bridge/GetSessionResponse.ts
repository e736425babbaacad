// Original file: proto/snakepit_bridge.proto

import type { Timestamp__Input as _google_protobuf_Timestamp__Input, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp.js';

export interface GetSessionResponse__Input {
  'session_id'?: (string);
  'metadata'?: ({[key: string]: string});
  'created_at'?: (_google_protobuf_Timestamp__Input | null);
  'variable_count'?: (number);
  'tool_count'?: (number);
}

export interface GetSessionResponse__Output {
  'session_id': (string);
  'metadata': ({[key: string]: string});
  'created_at': (_google_protobuf_Timestamp__Output | null);
  'variable_count': (number);
  'tool_count': (number);
}
