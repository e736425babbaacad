// Original file: proto/snakepit_bridge.proto


export interface DeleteVariableRequest__Input {
  'session_id'?: (string);
  'variable_identifier'?: (string);
}

export interface DeleteVariableRequest__Output {
  'session_id': (string);
  'variable_identifier': (string);
}
