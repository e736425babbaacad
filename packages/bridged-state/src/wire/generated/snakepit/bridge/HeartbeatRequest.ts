// Original file: proto/snakepit_bridge.proto

import type { Timestamp__Input as _google_protobuf_Timestamp__Input, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp.js';

export interface HeartbeatRequest__Input {
  'session_id'?: (string);
  'client_time'?: (_google_protobuf_Timestamp__Input | null);
}

export interface HeartbeatRequest__Output {
  'session_id': (string);
  'client_time': (_google_protobuf_Timestamp__Output | null);
}
