// Original file: proto/snakepit_bridge.proto


export interface CleanupSessionRequest__Input {
  'session_id'?: (string);
  'force'?: (boolean);
}

export interface CleanupSessionRequest__Output {
  'session_id': (string);
  'force': (boolean);
}
