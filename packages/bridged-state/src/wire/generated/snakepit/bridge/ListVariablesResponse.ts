// Original file: proto/snakepit_bridge.proto

import type { Variable__Input as _snakepit_bridge_Variable__Input, Variable__Output as _snakepit_bridge_Variable__Output } from '../../snakepit/bridge/Variable.js';

export interface ListVariablesResponse__Input {
  'variables'?: (_snakepit_bridge_Variable__Input)[];
}

export interface ListVariablesResponse__Output {
  'variables': (_snakepit_bridge_Variable__Output)[];
}
