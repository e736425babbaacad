import { runConformanceSuite } from "@dspex/provider-tests/vitest";
import { RedisState } from "../src/index.js";
import { serverDir, startRedis, type TestServer } from "./support/redis-server.js";

// One redis-server for the whole suite; every instance the hooks make is a new provider with
// its own connections, as another process would have.
const { dir, url } = serverDir();
let server: TestServer | undefined;
const provider = () => new RedisState({ url, timeoutMs: 2000 });

runConformanceSuite(provider(), {
  setup: async () => {
    server = await startRedis([], dir);
  },
  teardown: () => server?.stop(),
  secondInstance: provider,
  restart: provider,
});
