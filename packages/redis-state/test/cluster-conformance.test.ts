import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { type ChildProcessProvider, childProcessProvider } from "@dspex/provider-tests";
import { runConformanceSuite } from "@dspex/provider-tests/vitest";
import { startRedisCluster, type TestCluster } from "@dspex/test-support";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { escapeSessionId, RedisState } from "../src/index.js";

// The whole suite against a local 3-master Cluster: a session's keys share one hash slot, so
// every script runs on one node; doorbells go through sharded pub/sub.
let cluster: TestCluster | undefined;
// The suite reads the provider's name and capabilities when it registers its tests, before
// the Cluster exists: the provider connects at its first init, to the nodes filled in here.
const rootNodes: string[] = [];
beforeAll(async () => {
  cluster = await startRedisCluster();
  rootNodes.push(...cluster.rootNodes);
}, 30_000);
const restarted: ChildProcessProvider[] = [];
afterAll(async () => {
  await Promise.all(restarted.map((child) => child.close()));
  await cluster?.stop();
});

const provider = () => new RedisState({ rootNodes, timeoutMs: 3000 });

runConformanceSuite(provider(), {
  secondInstance: provider,
  // A provider in a new Node process, as after a crash.
  restart: async () => {
    const child = await childProcessProvider({
      module: new URL("./support/provider-module.ts", import.meta.url),
      execArgv: ["--import", "tsx"],
      env: { DSPEX_REDIS_ROOT_NODES: rootNodes.join(",") },
    });
    restarted.push(child);
    return child;
  },
});

const cli = async (port: number, ...args: string[]) =>
  (
    await promisify(execFile)("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args])
  ).stdout.trim();

describe("RedisState on a Cluster", () => {
  test("a session's keys share one slot, braces in its id included; sessions spread over every master", async () => {
    const state = provider();
    const ports = cluster?.ports ?? [];
    const tricky = `a}{b{${Date.now()}`;
    const tag = `{s:${escapeSessionId(tricky)}}`;
    const slots = new Set<string>();
    for (const key of [`dspex:${tag}:h`, `dspex:${tag}:feed`, `dspex:${tag}:bell`])
      slots.add(await cli(ports[0] as number, "CLUSTER", "KEYSLOT", key));
    expect(slots.size).toBe(1);
    const opened = [];
    for (let i = 0; i < 30; i++) {
      const init = await state.init({ sessionId: i === 0 ? tricky : `spread_${i}_${Date.now()}` });
      if (!init.ok) throw new Error(init.error.message);
      const registered = await state.registerVariable(init.value, "x", "integer", i);
      expect(registered.ok).toBe(true);
      opened.push(init.value);
    }
    for (const port of ports) expect(Number(await cli(port, "DBSIZE"))).toBeGreaterThan(0);
    const first = await state.getVariable(opened[0] as never, "x");
    expect(first.ok && first.value).toBe(0);
    for (const s of opened) await state.cleanup(s);
  });
});
