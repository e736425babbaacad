// Original file: proto/snakepit_bridge.proto

import type { Timestamp__Input as _google_protobuf_Timestamp__Input, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp.js';

export interface OptimizationStatus__Input {
  'optimizing'?: (boolean);
  'optimizer_id'?: (string);
  'started_at'?: (_google_protobuf_Timestamp__Input | null);
}

export interface OptimizationStatus__Output {
  'optimizing': (boolean);
  'optimizer_id': (string);
  'started_at': (_google_protobuf_Timestamp__Output | null);
}
