// Original file: proto/snakepit_bridge.proto


export interface CleanupSessionResponse__Input {
  'success'?: (boolean);
  'resources_cleaned'?: (number);
}

export interface CleanupSessionResponse__Output {
  'success': (boolean);
  'resources_cleaned': (number);
}
