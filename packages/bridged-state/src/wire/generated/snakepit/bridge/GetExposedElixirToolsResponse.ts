// Original file: proto/snakepit_bridge.proto

import type { ToolSpec__Input as _snakepit_bridge_ToolSpec__Input, ToolSpec__Output as _snakepit_bridge_ToolSpec__Output } from '../../snakepit/bridge/ToolSpec.js';

export interface GetExposedElixirToolsResponse__Input {
  'tools'?: (_snakepit_bridge_ToolSpec__Input)[];
}

export interface GetExposedElixirToolsResponse__Output {
  'tools': (_snakepit_bridge_ToolSpec__Output)[];
}
