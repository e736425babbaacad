// Original file: proto/snakepit_bridge.proto

import type { Timestamp__Input as _google_protobuf_Timestamp__Input, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp.js';

export interface HeartbeatResponse__Input {
  'server_time'?: (_google_protobuf_Timestamp__Input | null);
  'session_valid'?: (boolean);
}

export interface HeartbeatResponse__Output {
  'server_time': (_google_protobuf_Timestamp__Output | null);
  'session_valid': (boolean);
}
