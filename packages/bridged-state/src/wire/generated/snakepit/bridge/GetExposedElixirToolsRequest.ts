// Original file: proto/snakepit_bridge.proto


export interface GetExposedElixirToolsRequest__Input {
  'session_id'?: (string);
}

export interface GetExposedElixirToolsRequest__Output {
  'session_id': (string);
}
