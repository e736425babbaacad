// Original file: proto/snakepit_bridge.proto


/**
 * Extension (this bridge).
 */
export interface ImportStateRequest__Input {
  'session_id'?: (string);
  /**
   * The JSON text of the export document (format "dspex.state"); an invalid document is
   * INVALID_ARGUMENT naming the path of the first problem.
   */
  'export_json'?: (string);
}

/**
 * Extension (this bridge).
 */
export interface ImportStateRequest__Output {
  'session_id': (string);
  /**
   * The JSON text of the export document (format "dspex.state"); an invalid document is
   * INVALID_ARGUMENT naming the path of the first problem.
   */
  'export_json': (string);
}
