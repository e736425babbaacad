import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { expect } from "vitest";
import type { BridgeServiceClient } from "../src/wire/generated/snakepit/bridge/BridgeService.js";
import type { VariableUpdate__Output } from "../src/wire/generated/snakepit/bridge/VariableUpdate.js";
import { loadBridgeProto } from "../src/wire/proto.js";

/** A raw BridgeService client, as a Python worker or any other language would use the wire. */
export function rawClient(
  address: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  options: grpc.ChannelOptions = {},
): BridgeServiceClient {
  const { grpcObject } = loadBridgeProto();
  return new grpcObject.snakepit.bridge.BridgeService(address, credentials, options);
}

export interface CallFailure {
  code: grpc.status;
  details: string;
}

/** Calls a unary method and answers the response or the status it failed with. */
export function unary<Res>(
  client: BridgeServiceClient,
  method: string,
  request: object,
  metadata: grpc.Metadata = new grpc.Metadata(),
): Promise<{ ok: true; response: Res } | { ok: false; code: grpc.status; details: string }> {
  return new Promise((resolve) => {
    const fn = (client as unknown as Record<string, (...args: unknown[]) => unknown>)[method];
    if (fn === undefined) throw new Error(`no method ${method}`);
    fn.call(
      client,
      request,
      metadata,
      { deadline: Date.now() + 5_000 },
      (error: grpc.ServiceError | null, response: Res) => {
        if (error) resolve({ ok: false, code: error.code, details: error.details });
        else resolve({ ok: true, response });
      },
    );
  });
}

export const json = (value: unknown) => Buffer.from(JSON.stringify(value), "utf8");
export const any = (type: string, value: unknown) => ({
  type_url: `type.googleapis.com/snakepit.${type}`,
  value: json(value),
});

/** A `dspex-bridge serve` child process, started from the built CLI as a user would. */
export interface CliServer {
  readonly child: ChildProcess;
  /** HOST:PORT from the CLI's one stdout line. */
  readonly address: string;
  readonly exited: Promise<number | null>;
  /** Resumes it if stopped, sends SIGTERM and answers its exit code. */
  stop(): Promise<number | null>;
  /** What it wrote to stderr so far (with `stderr: "capture"`; otherwise empty). */
  stderr(): string;
}

export async function startCli(
  args: readonly string[],
  stderr: "inherit" | "ignore" | "capture" = "inherit",
  env: NodeJS.ProcessEnv = process.env,
): Promise<CliServer> {
  const cli = join(import.meta.dirname, "..", "bin", "dspex-bridge.js");
  const child = spawn(process.execPath, [cli, "serve", ...args], {
    stdio: ["ignore", "pipe", stderr === "capture" ? "pipe" : stderr],
    env,
  });
  let written = "";
  child.stderr?.on("data", (chunk) => {
    written += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  const address = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (chunk) => {
      out += chunk;
      const match = /listening on (\S+)\n/.exec(out);
      if (match) resolve(match[1]!);
    });
    void exited.then((code) =>
      reject(new Error(`dspex-bridge exited with ${code} before listening: ${written}`)),
    );
  });
  return {
    child,
    address,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGCONT");
        child.kill("SIGTERM");
      }
      return exited;
    },
    stderr: () => written,
  };
}

/** Waits until `done()` holds (watch events arrive asynchronously), failing after `ms`. */
export async function until(done: () => boolean, what: string, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A client of the standard gRPC health service (grpc.health.v1) every bridge serves. */
export function healthClient(address: string, credentials = grpc.credentials.createInsecure()) {
  const path = createRequire(import.meta.url).resolve(
    "grpc-health-check/proto/health/v1/health.proto",
  );
  const definition = protoLoader.loadSync(path, { keepCase: true, enums: String });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
  };
  return new pkg.grpc.health.v1.Health(address, credentials);
}

/** A raw WatchVariables stream collecting its messages; `opened` resolves at the headers. */
export function collectWatch(client: BridgeServiceClient, request: object) {
  const updates: VariableUpdate__Output[] = [];
  const call = client.WatchVariables(request);
  call.on("data", (update: VariableUpdate__Output) => updates.push(update));
  call.on("error", () => {});
  const opened = new Promise<void>((resolve) => call.on("metadata", () => resolve()));
  return { call, updates, opened };
}

/** Creates a session through `client` with one float variable `t` = 0. */
export async function sessionWithT(client: BridgeServiceClient, id: string): Promise<void> {
  const created = await unary(client, "InitializeSession", { session_id: id });
  if (!created.ok) throw new Error(`InitializeSession ${id}: ${created.details}`);
  const registered = await unary(client, "RegisterVariable", {
    session_id: id,
    name: "t",
    type: "float",
    initial_value: any("float", 0),
  });
  if (!registered.ok) throw new Error(`RegisterVariable t: ${registered.details}`);
}

/**
 * A registration and a deletion, each sent through `a` and retried through `b` with the same
 * request id (two bridges on one store): each applies once and the retry answers as the first.
 */
export async function expectRetriedRegisterAndDeleteApplyOnce(
  a: BridgeServiceClient,
  b: BridgeServiceClient,
  session: string,
): Promise<void> {
  await sessionWithT(a, session);
  const watcher = collectWatch(a, { session_id: session });
  await watcher.opened;
  const register = (client: BridgeServiceClient, requestId: string) =>
    unary<{ variable_id: string }>(client, "RegisterVariable", {
      session_id: session,
      name: "k",
      type: "integer",
      initial_value: any("integer", 1),
      request_id: requestId,
    });
  const first = await register(a, "reg-1");
  const again = await register(b, "reg-1");
  if (!first.ok || !again.ok) throw new Error("a keyed registration was refused");
  expect(again.response.variable_id).toBe(first.response.variable_id);
  const unkeyed = await register(b, "");
  expect(!unkeyed.ok && unkeyed.code).toBe(grpc.status.ALREADY_EXISTS);

  const remove = (client: BridgeServiceClient, requestId: string) =>
    unary(client, "DeleteVariable", {
      session_id: session,
      variable_identifier: "k",
      request_id: requestId,
    });
  expect((await remove(a, "del-1")).ok).toBe(true);
  expect((await remove(b, "del-1")).ok).toBe(true);
  const another = await remove(b, "del-2");
  expect(!another.ok && another.code).toBe(grpc.status.NOT_FOUND);
  const tooLong = await remove(b, "x".repeat(129));
  expect(!tooLong.ok && tooLong.code).toBe(grpc.status.INVALID_ARGUMENT);

  const of = (type: string) =>
    watcher.updates.filter((u) => u.update_type === type && u.variable?.name === "k");
  await until(() => of("deleted").length === 1, "the deletion");
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect([of("registered").length, of("deleted").length]).toEqual([1, 1]);
  watcher.call.cancel();
}
