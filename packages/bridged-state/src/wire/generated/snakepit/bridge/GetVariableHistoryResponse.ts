// Original file: proto/snakepit_bridge.proto

import type { Variable__Input as _snakepit_bridge_Variable__Input, Variable__Output as _snakepit_bridge_Variable__Output } from '../../snakepit/bridge/Variable.js';

export interface GetVariableHistoryResponse__Input {
  /**
   * Newest first. A bridge keeps the last max_versions_per_variable versions (default 100).
   */
  'versions'?: (_snakepit_bridge_Variable__Input)[];
}

export interface GetVariableHistoryResponse__Output {
  /**
   * Newest first. A bridge keeps the last max_versions_per_variable versions (default 100).
   */
  'versions': (_snakepit_bridge_Variable__Output)[];
}
