// Original file: proto/snakepit_bridge.proto

import type { SessionConfig__Input as _snakepit_bridge_SessionConfig__Input, SessionConfig__Output as _snakepit_bridge_SessionConfig__Output } from '../../snakepit/bridge/SessionConfig.js';

export interface InitializeSessionRequest__Input {
  'session_id'?: (string);
  'metadata'?: ({[key: string]: string});
  'config'?: (_snakepit_bridge_SessionConfig__Input | null);
}

export interface InitializeSessionRequest__Output {
  'session_id': (string);
  'metadata': ({[key: string]: string});
  'config': (_snakepit_bridge_SessionConfig__Output | null);
}
