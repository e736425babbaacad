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
  /**
   * Extension: the `cursor` of the last update this watcher heard. When the store still holds
   * every change after it, the stream opens with one "resumed" update (variable_id empty) and
   * goes on with exactly those changes; otherwise it falls back to include_initial_values.
   */
  'resume_after'?: (string);
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
  /**
   * Extension: the `cursor` of the last update this watcher heard. When the store still holds
   * every change after it, the stream opens with one "resumed" update (variable_id empty) and
   * goes on with exactly those changes; otherwise it falls back to include_initial_values.
   */
  'resume_after': (string);
}
