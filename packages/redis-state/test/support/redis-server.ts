import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

/*
 * Real redis-server processes for the tests: each in its own temporary directory, a unix
 * socket (or free 127.0.0.1 ports for a Cluster), stopped and removed by `stop`.
 */

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface TestServer {
  readonly url: string;
  readonly dir: string;
  readonly socket: string;
  /** redis-cli against this server; answers its output. */
  cli(...args: string[]): Promise<string>;
  /** SIGKILL: no save, no goodbye. */
  kill(): Promise<void>;
  /** Starts the server again on the same socket and directory (its AOF/RDB, if any). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function waitFor(check: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** A temporary directory for a server, so its url is known before it starts. */
export function serverDir(): { dir: string; url: string } {
  const dir = mkdtempSync(join(tmpdir(), "dspex-redis-"));
  return { dir, url: `unix://${join(dir, "redis.sock")}` };
}

/** One redis-server on a unix socket. `args` are extra server options (`--appendonly yes`). */
export async function startRedis(
  args: readonly string[] = [],
  dir: string = serverDir().dir,
): Promise<TestServer> {
  const socket = join(dir, "redis.sock");
  let child: ChildProcess;
  const cli = async (...command: string[]) =>
    (await run("redis-cli", ["-s", socket, ...command])).stdout.trim();
  const launch = async () => {
    child = spawn(
      "redis-server",
      ["--port", "0", "--unixsocket", socket, "--dir", dir, "--save", "", ...args],
      { stdio: "ignore" },
    );
    await waitFor(async () => existsSync(socket) && (await cli("PING")) === "PONG", "redis-server");
  };
  await launch();
  return {
    url: `unix://${socket}`,
    dir,
    socket,
    cli,
    async kill() {
      child.kill("SIGKILL");
      await exited(child);
      await rm(socket, { force: true });
    },
    restart: launch,
    async stop() {
      child.kill("SIGKILL");
      await exited(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface TestCluster {
  readonly rootNodes: readonly string[];
  readonly ports: readonly number[];
  stop(): Promise<void>;
}

/** A local 3-master Cluster on free 127.0.0.1 ports, without replicas. */
export async function startCluster(): Promise<TestCluster> {
  const dir = await mkdtemp(join(tmpdir(), "dspex-cluster-"));
  const ports: number[] = [];
  // Cluster buses listen on port + 10000: pick ports whose bus port is free too.
  while (ports.length < 3) {
    const port = await freePort();
    if (port < 55_000 && !ports.includes(port)) ports.push(port);
  }
  const children = ports.map((port) =>
    spawn(
      "redis-server",
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        join(dir, `nodes-${port}.conf`),
        "--cluster-node-timeout",
        "2000",
        "--dir",
        dir,
        "--save",
        "",
        "--appendonly",
        "no",
        "--dbfilename",
        `dump-${port}.rdb`,
      ],
      { stdio: "ignore" },
    ),
  );
  const cli = async (port: number, ...args: string[]) =>
    (await run("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args])).stdout.trim();
  for (const port of ports)
    await waitFor(async () => (await cli(port, "PING")) === "PONG", `node ${port}`);
  await run("redis-cli", [
    "--cluster",
    "create",
    ...ports.map((port) => `127.0.0.1:${port}`),
    "--cluster-replicas",
    "0",
    "--cluster-yes",
  ]);
  for (const port of ports) {
    await waitFor(
      async () => (await cli(port, "CLUSTER", "INFO")).includes("cluster_state:ok"),
      `cluster state on ${port}`,
    );
  }
  return {
    rootNodes: ports.map((port) => `redis://127.0.0.1:${port}`),
    ports,
    async stop() {
      for (const child of children) child.kill("SIGKILL");
      await Promise.all(children.map(exited));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
