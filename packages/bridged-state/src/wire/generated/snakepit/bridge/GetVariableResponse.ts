// Original file: proto/snakepit_bridge.proto

import type { Variable__Input as _snakepit_bridge_Variable__Input, Variable__Output as _snakepit_bridge_Variable__Output } from '../../snakepit/bridge/Variable.js';

export interface GetVariableResponse__Input {
  'variable'?: (_snakepit_bridge_Variable__Input | null);
  'from_cache'?: (boolean);
}

export interface GetVariableResponse__Output {
  'variable': (_snakepit_bridge_Variable__Output | null);
  'from_cache': (boolean);
}
