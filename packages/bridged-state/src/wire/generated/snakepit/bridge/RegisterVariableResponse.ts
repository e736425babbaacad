// Original file: proto/snakepit_bridge.proto


export interface RegisterVariableResponse__Input {
  'success'?: (boolean);
  'variable_id'?: (string);
  'error_message'?: (string);
}

export interface RegisterVariableResponse__Output {
  'success': (boolean);
  'variable_id': (string);
  'error_message': (string);
}
