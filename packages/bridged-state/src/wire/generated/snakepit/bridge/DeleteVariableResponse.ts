// Original file: proto/snakepit_bridge.proto


export interface DeleteVariableResponse__Input {
  'success'?: (boolean);
  'error_message'?: (string);
}

export interface DeleteVariableResponse__Output {
  'success': (boolean);
  'error_message': (string);
}
