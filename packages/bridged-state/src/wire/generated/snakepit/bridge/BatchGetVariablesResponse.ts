// Original file: proto/snakepit_bridge.proto

import type { Variable__Input as _snakepit_bridge_Variable__Input, Variable__Output as _snakepit_bridge_Variable__Output } from '../../snakepit/bridge/Variable.js';

export interface BatchGetVariablesResponse__Input {
  /**
   * Keyed by the identifier as requested.
   */
  'variables'?: ({[key: string]: _snakepit_bridge_Variable__Input});
  'missing_variables'?: (string)[];
}

export interface BatchGetVariablesResponse__Output {
  /**
   * Keyed by the identifier as requested.
   */
  'variables': ({[key: string]: _snakepit_bridge_Variable__Output});
  'missing_variables': (string)[];
}
