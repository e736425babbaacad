// Original file: proto/snakepit_bridge.proto


export interface BatchSetVariablesResponse__Input {
  'success'?: (boolean);
  'errors'?: ({[key: string]: string});
  'new_versions'?: ({[key: string]: number});
}

export interface BatchSetVariablesResponse__Output {
  'success': (boolean);
  'errors': ({[key: string]: string});
  'new_versions': ({[key: string]: number});
}
