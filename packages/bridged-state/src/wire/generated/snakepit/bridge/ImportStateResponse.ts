// Original file: proto/snakepit_bridge.proto


export interface ImportStateResponse__Input {
  'success'?: (boolean);
  /**
   * How many variables the document held.
   */
  'imported'?: (number);
}

export interface ImportStateResponse__Output {
  'success': (boolean);
  /**
   * How many variables the document held.
   */
  'imported': (number);
}
