import { type ChildProcessProvider, childProcessProvider } from "@dspex/provider-tests";
import { runConformanceSuite } from "@dspex/provider-tests/vitest";
import { serverDir, startRedisServer, type TestServer } from "@dspex/test-support";
import { RedisState } from "../src/index.js";

// One redis-server for the whole suite. secondInstance is a new provider with its own
// connections; restart is a provider in a new Node process, as after a crash.
const { dir, url } = serverDir();
let server: TestServer | undefined;
const restarted: ChildProcessProvider[] = [];

runConformanceSuite(new RedisState({ url, timeoutMs: 2000 }), {
  setup: async () => {
    server = await startRedisServer({ dir });
  },
  teardown: async () => {
    await Promise.all(restarted.map((child) => child.close()));
    await server?.stop();
  },
  secondInstance: () => new RedisState({ url, timeoutMs: 2000 }),
  restart: async () => {
    const child = await childProcessProvider({
      module: new URL("./support/provider-module.ts", import.meta.url),
      execArgv: ["--import", "tsx"],
      env: { DSPEX_REDIS_URL: url },
    });
    restarted.push(child);
    return child;
  },
});
