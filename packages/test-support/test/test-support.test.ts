import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, test } from "vitest";
import { serverDir, startRedisServer, TestProxy } from "../src/index.js";

const run = promisify(execFile);

/** One RESP PING through `port`; answers what came back, or the error. */
function ping(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("data", (data) => {
      resolve(data.toString().trim());
      socket.destroy();
    });
    socket.once("error", (error) => resolve(`error: ${error.message}`));
    socket.once("close", () => resolve("closed"));
    socket.write("PING\r\n");
  });
}

describe("startRedisServer", () => {
  test("a server on a unix socket and a TCP port, restarted with its AOF, gone after stop", async () => {
    const { dir, url } = serverDir();
    const server = await startRedisServer({ dir, tcp: true, args: ["--appendonly", "yes"] });
    expect(server.url).toBe(url);
    expect(server.tcpUrl).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    await server.cli("SET", "k", "v");
    expect(await ping(Number(new URL(server.tcpUrl as string).port))).toBe("+PONG");
    await server.kill();
    expect(existsSync(server.socket)).toBe(false);
    await server.restart();
    expect(await server.cli("GET", "k")).toBe("v");
    await server.stop();
    expect(existsSync(dir)).toBe(false);
  });
});

describe("TestProxy", () => {
  test("forwards, drops every connection while down, cuts the request carrying a marker", async () => {
    const server = await startRedisServer();
    const proxy = await TestProxy.start(server.socket);
    try {
      expect(await ping(proxy.port)).toBe("+PONG");
      proxy.down();
      expect(await ping(proxy.port)).toBe("closed");
      proxy.up();
      proxy.dropAfter("INCR");
      // The request reached Redis (the counter moved) but its answer never came back.
      const cut = await new Promise<string>((resolve) => {
        const socket = connect(proxy.port, "127.0.0.1");
        socket.once("data", (data) => resolve(data.toString()));
        socket.once("close", () => resolve("closed"));
        socket.write("INCR counter\r\n");
      });
      expect(cut).toBe("closed");
      expect(proxy.dropped).toBe(1);
      expect(await server.cli("GET", "counter")).toBe("1");
      proxy.dropBefore("INCR");
      await new Promise<void>((resolve) => {
        const socket = connect(proxy.port, "127.0.0.1");
        socket.once("close", () => resolve());
        socket.write("INCR counter\r\n");
      });
      expect(await server.cli("GET", "counter")).toBe("1");
      expect(proxy.dropped).toBe(2);
      proxy.dropAfter("INCR", { thenDown: true });
      await new Promise<void>((resolve) => {
        const socket = connect(proxy.port, "127.0.0.1");
        socket.once("close", () => resolve());
        socket.write("INCR counter\r\n");
      });
      expect(await server.cli("GET", "counter")).toBe("2");
      expect(await ping(proxy.port)).toBe("closed");
      proxy.up();
      expect(await ping(proxy.port)).toBe("+PONG");
    } finally {
      await proxy.stop();
      await server.stop();
    }
  });
});

describe("the built package", () => {
  // What a demo script does: load dist/ with plain Node, ESM and CommonJS alike.
  const dist = fileURLToPath(new URL("../dist/", import.meta.url));
  const script = (load: string) => `${load}
const server = await startRedisServer();
const answer = await server.cli("PING");
await server.stop();
console.log(answer);`;
  test.each([
    [
      "ESM",
      ["--input-type=module", "-e", script(`import { startRedisServer } from "${dist}index.js";`)],
    ],
    [
      "CommonJS",
      [
        "-e",
        `(async () => { ${script(`const { startRedisServer } = require("${dist}index.cjs");`)} })()`,
      ],
    ],
  ])("loads from dist with %s and starts a server", async (_, args) => {
    const { stdout } = await run(process.execPath, args as string[], { timeout: 8000 });
    expect(stdout.trim()).toBe("PONG");
  });
});
