// Original file: proto/snakepit_bridge.proto

import type { ToolSpec__Input as _snakepit_bridge_ToolSpec__Input, ToolSpec__Output as _snakepit_bridge_ToolSpec__Output } from '../../snakepit/bridge/ToolSpec.js';
import type { Variable__Input as _snakepit_bridge_Variable__Input, Variable__Output as _snakepit_bridge_Variable__Output } from '../../snakepit/bridge/Variable.js';

export interface InitializeSessionResponse__Input {
  'success'?: (boolean);
  'error_message'?: (string);
  'available_tools'?: ({[key: string]: _snakepit_bridge_ToolSpec__Input});
  'initial_variables'?: ({[key: string]: _snakepit_bridge_Variable__Input});
}

export interface InitializeSessionResponse__Output {
  'success': (boolean);
  'error_message': (string);
  'available_tools': ({[key: string]: _snakepit_bridge_ToolSpec__Output});
  'initial_variables': ({[key: string]: _snakepit_bridge_Variable__Output});
}
