// Original file: proto/snakepit_bridge.proto


export interface ListVariablesRequest__Input {
  'session_id'?: (string);
  /**
   * Optional glob over names: `*` and `?`; empty lists every variable.
   */
  'pattern'?: (string);
  /**
   * Extension: as in GetVariableRequest.
   */
  'prefer_binary'?: (boolean);
}

export interface ListVariablesRequest__Output {
  'session_id': (string);
  /**
   * Optional glob over names: `*` and `?`; empty lists every variable.
   */
  'pattern': (string);
  /**
   * Extension: as in GetVariableRequest.
   */
  'prefer_binary': (boolean);
}
