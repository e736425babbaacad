// Original file: proto/snakepit_bridge.proto

import type { ParameterSpec__Input as _snakepit_bridge_ParameterSpec__Input, ParameterSpec__Output as _snakepit_bridge_ParameterSpec__Output } from '../../snakepit/bridge/ParameterSpec.js';

export interface ToolSpec__Input {
  'name'?: (string);
  'description'?: (string);
  'parameters'?: (_snakepit_bridge_ParameterSpec__Input)[];
  'metadata'?: ({[key: string]: string});
  'supports_streaming'?: (boolean);
  'required_variables'?: (string)[];
}

export interface ToolSpec__Output {
  'name': (string);
  'description': (string);
  'parameters': (_snakepit_bridge_ParameterSpec__Output)[];
  'metadata': ({[key: string]: string});
  'supports_streaming': (boolean);
  'required_variables': (string)[];
}
