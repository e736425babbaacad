// Original file: proto/snakepit_bridge.proto


export interface SetVariableResponse__Input {
  'success'?: (boolean);
  'error_message'?: (string);
  'new_version'?: (number);
}

export interface SetVariableResponse__Output {
  'success': (boolean);
  'error_message': (string);
  'new_version': (number);
}
