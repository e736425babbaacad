// Original file: proto/snakepit_bridge.proto


export interface WatchVariablesRequest__Input {
  'session_id'?: (string);
  'variable_identifiers'?: (string)[];
  'include_initial_values'?: (boolean);
  /**
   * Extensions: a glob over names (watched in addition to variable_identifiers; when both are
   * empty every variable is watched), and binary values as in GetVariableRequest.
   */
  'pattern'?: (string);
  'prefer_binary'?: (boolean);
}

export interface WatchVariablesRequest__Output {
  'session_id': (string);
  'variable_identifiers': (string)[];
  'include_initial_values': (boolean);
  /**
   * Extensions: a glob over names (watched in addition to variable_identifiers; when both are
   * empty every variable is watched), and binary values as in GetVariableRequest.
   */
  'pattern': (string);
  'prefer_binary': (boolean);
}
