// Original file: proto/snakepit_bridge.proto


export interface PingRequest__Input {
  'message'?: (string);
}

export interface PingRequest__Output {
  'message': (string);
}
