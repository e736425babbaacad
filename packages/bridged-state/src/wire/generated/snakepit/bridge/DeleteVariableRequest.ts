// Original file: proto/snakepit_bridge.proto


export interface DeleteVariableRequest__Input {
  'session_id'?: (string);
  'variable_identifier'?: (string);
  /**
   * Extension: as in SetVariableRequest; a retried deletion answers OK instead of NOT_FOUND.
   */
  'request_id'?: (string);
}

export interface DeleteVariableRequest__Output {
  'session_id': (string);
  'variable_identifier': (string);
  /**
   * Extension: as in SetVariableRequest; a retried deletion answers OK instead of NOT_FOUND.
   */
  'request_id': (string);
}
