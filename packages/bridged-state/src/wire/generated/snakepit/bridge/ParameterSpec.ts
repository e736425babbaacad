// Original file: proto/snakepit_bridge.proto

import type { Any__Input as _google_protobuf_Any__Input, Any__Output as _google_protobuf_Any__Output } from '../../google/protobuf/Any.js';

export interface ParameterSpec__Input {
  'name'?: (string);
  'type'?: (string);
  'description'?: (string);
  'required'?: (boolean);
  'default_value'?: (_google_protobuf_Any__Input | null);
  'validation_json'?: (string);
}

export interface ParameterSpec__Output {
  'name': (string);
  'type': (string);
  'description': (string);
  'required': (boolean);
  'default_value': (_google_protobuf_Any__Output | null);
  'validation_json': (string);
}
