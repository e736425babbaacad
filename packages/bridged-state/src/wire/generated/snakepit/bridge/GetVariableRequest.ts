// Original file: proto/snakepit_bridge.proto


export interface GetVariableRequest__Input {
  'session_id'?: (string);
  'variable_identifier'?: (string);
  'bypass_cache'?: (boolean);
  /**
   * Extension: answer large embeddings and tensors in binary_value (see the package README).
   */
  'prefer_binary'?: (boolean);
}

export interface GetVariableRequest__Output {
  'session_id': (string);
  'variable_identifier': (string);
  'bypass_cache': (boolean);
  /**
   * Extension: answer large embeddings and tensors in binary_value (see the package README).
   */
  'prefer_binary': (boolean);
}
