// Original file: proto/snakepit_bridge.proto


export interface GetSessionRequest__Input {
  'session_id'?: (string);
}

export interface GetSessionRequest__Output {
  'session_id': (string);
}
