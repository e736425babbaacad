// Original file: proto/snakepit_bridge.proto

import type { Timestamp__Input as _google_protobuf_Timestamp__Input, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp.js';

export interface PingResponse__Input {
  'message'?: (string);
  'server_time'?: (_google_protobuf_Timestamp__Input | null);
}

export interface PingResponse__Output {
  'message': (string);
  'server_time': (_google_protobuf_Timestamp__Output | null);
}
