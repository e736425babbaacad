// Original file: proto/snakepit_bridge.proto


export interface SessionConfig__Input {
  'enable_caching'?: (boolean);
  'cache_ttl_seconds'?: (number);
  'enable_telemetry'?: (boolean);
}

export interface SessionConfig__Output {
  'enable_caching': (boolean);
  'cache_ttl_seconds': (number);
  'enable_telemetry': (boolean);
}
