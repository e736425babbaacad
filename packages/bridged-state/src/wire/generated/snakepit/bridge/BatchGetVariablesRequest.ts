// Original file: proto/snakepit_bridge.proto


export interface BatchGetVariablesRequest__Input {
  'session_id'?: (string);
  'variable_identifiers'?: (string)[];
  'include_metadata'?: (boolean);
  'bypass_cache'?: (boolean);
  /**
   * Extension: as in GetVariableRequest.
   */
  'prefer_binary'?: (boolean);
}

export interface BatchGetVariablesRequest__Output {
  'session_id': (string);
  'variable_identifiers': (string)[];
  'include_metadata': (boolean);
  'bypass_cache': (boolean);
  /**
   * Extension: as in GetVariableRequest.
   */
  'prefer_binary': (boolean);
}
