import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

/*
 * Real redis-server processes for tests and demos: each in its own temporary directory, on a
 * unix socket (and, when asked, a free 127.0.0.1 port; free ports for a Cluster), stopped and
 * removed by `stop`.
 */

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface TestServer {
  /** `unix:///tmp/dspex-redis-.../redis.sock`. */
  readonly url: string;
  /** `redis://127.0.0.1:<port>` when started with `tcp: true`. */
  readonly tcpUrl: string | undefined;
  readonly dir: string;
  readonly socket: string;
  /** redis-cli against this server; answers its output. */
  cli(...args: string[]): Promise<string>;
  /** SIGKILL: no save, no goodbye. */
  kill(): Promise<void>;
  /** Starts the server again on the same socket, port and directory (its AOF/RDB, if any). */
  restart(): Promise<void>;
  /** Kills the server and removes its directory. */
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  /** Extra server options, e.g. `["--appendonly", "yes"]`. */
  readonly args?: readonly string[];
  /** The directory to run in (from `serverDir()`, to know the url before the server starts). */
  readonly dir?: string;
  /** Listen on a free 127.0.0.1 port too (`tcpUrl`), for what cannot use a unix socket. */
  readonly tcp?: boolean;
}

/** Polls `check` until it holds; `failed` (a process that could not start) ends it at once. */
async function waitFor(
  check: () => Promise<boolean>,
  what: string,
  failed: () => Error | undefined = () => undefined,
  ms = 10_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const failure = failed();
    if (failure !== undefined) throw failure;
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** Spawns redis-server; a missing binary fails at once, naming the fix. */
function spawnServer(args: readonly string[], failed: (error: Error) => void): ChildProcess {
  const child = spawn("redis-server", args, { stdio: "ignore" });
  child.once("error", (error) =>
    failed(
      new Error(
        `redis-server could not be started (${error.message}); run scripts/setup-redis.sh to install it`,
      ),
    ),
  );
  return child;
}

/** A temporary directory for a server, so its url is known before it starts. */
export function serverDir(): { dir: string; url: string } {
  const dir = mkdtempSync(join(tmpdir(), "dspex-redis-"));
  return { dir, url: `unix://${join(dir, "redis.sock")}` };
}

/** A free 127.0.0.1 TCP port (free when asked: bind it soon). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** One redis-server on a unix socket in a temporary directory, ready when this answers. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<TestServer> {
  const dir = options.dir ?? serverDir().dir;
  const socket = join(dir, "redis.sock");
  const port = options.tcp === true ? await freePort() : 0;
  let child: ChildProcess;
  const cli = async (...command: string[]) =>
    (await run("redis-cli", ["-s", socket, ...command])).stdout.trim();
  const launch = async () => {
    let failure: Error | undefined;
    child = spawnServer(
      [
        "--port",
        String(port),
        ...(port === 0 ? [] : ["--bind", "127.0.0.1"]),
        "--unixsocket",
        socket,
        "--dir",
        dir,
        "--save",
        "",
        ...(options.args ?? []),
      ],
      (error) => {
        failure = error;
      },
    );
    await waitFor(
      async () => existsSync(socket) && (await cli("PING")) === "PONG",
      "redis-server",
      () => failure,
    );
  };
  await launch();
  return {
    url: `unix://${socket}`,
    tcpUrl: port === 0 ? undefined : `redis://127.0.0.1:${port}`,
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

export interface TestCluster {
  /** `redis://127.0.0.1:<port>` of each master: what `RedisState({ rootNodes })` takes. */
  readonly rootNodes: readonly string[];
  readonly ports: readonly number[];
  /** redis-cli against the node on `port`; answers its output. */
  cli(port: number, ...args: string[]): Promise<string>;
  /** Kills every node and removes their directory. */
  stop(): Promise<void>;
}

/** A local 3-master Cluster on free 127.0.0.1 ports, without replicas (about 2 s). */
export async function startRedisCluster(): Promise<TestCluster> {
  const dir = await mkdtemp(join(tmpdir(), "dspex-cluster-"));
  const ports: number[] = [];
  // Cluster buses listen on port + 10000: pick ports whose bus port is free too.
  while (ports.length < 3) {
    const port = await freePort();
    if (port < 55_000 && !ports.includes(port)) ports.push(port);
  }
  let failure: Error | undefined;
  const children = ports.map((port) =>
    spawnServer(
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
      (error) => {
        failure = error;
      },
    ),
  );
  const stop = async () => {
    for (const child of children) child.kill("SIGKILL");
    await Promise.all(children.map(exited));
    await rm(dir, { recursive: true, force: true });
  };
  const cli = async (port: number, ...args: string[]) =>
    (await run("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args])).stdout.trim();
  try {
    for (const port of ports) {
      await waitFor(
        async () => (await cli(port, "PING")) === "PONG",
        `node ${port}`,
        () => failure,
      );
    }
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
  } catch (error) {
    await stop();
    throw error;
  }
  return { rootNodes: ports.map((port) => `redis://127.0.0.1:${port}`), ports, cli, stop };
}
