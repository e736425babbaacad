export { TestProxy } from "./proxy.js";
export {
  freePort,
  type RedisServerOptions,
  serverDir,
  startRedisCluster,
  startRedisServer,
  type TestCluster,
  type TestServer,
} from "./redis-server.js";
