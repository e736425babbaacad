// Original file: proto/snakepit_bridge.proto


/**
 * Extension (this bridge).
 */
export interface GetVariableHistoryRequest__Input {
  'session_id'?: (string);
  /**
   * A variable's id or name.
   */
  'variable_identifier'?: (string);
  /**
   * At most this many versions, the newest; 0 means every retained one; negative is
   * INVALID_ARGUMENT.
   */
  'limit'?: (number);
  /**
   * Large embeddings and tensors in binary_value (as GetVariableRequest.prefer_binary).
   */
  'prefer_binary'?: (boolean);
}

/**
 * Extension (this bridge).
 */
export interface GetVariableHistoryRequest__Output {
  'session_id': (string);
  /**
   * A variable's id or name.
   */
  'variable_identifier': (string);
  /**
   * At most this many versions, the newest; 0 means every retained one; negative is
   * INVALID_ARGUMENT.
   */
  'limit': (number);
  /**
   * Large embeddings and tensors in binary_value (as GetVariableRequest.prefer_binary).
   */
  'prefer_binary': (boolean);
}
