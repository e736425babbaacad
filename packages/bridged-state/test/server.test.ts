import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { connect } from "node:http2";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BridgeServer, RemoteState, SessionStore } from "../src/index.js";
import { any, healthClient, rawClient, startCli, unary } from "./helpers.js";

describe("BridgeServer", () => {
  let server: BridgeServer;
  beforeAll(async () => {
    server = await BridgeServer.start();
  });
  afterAll(async () => {
    await server.close();
  });

  it("binds 127.0.0.1 on an ephemeral port by default", () => {
    expect(server.host).toBe("127.0.0.1");
    expect(server.port).toBeGreaterThan(0);
    expect(server.address).toBe(`127.0.0.1:${server.port}`);
  });

  it("ListVariables filters by glob; GetVariables answers keyed by the identifiers as given", async () => {
    const client = rawClient(server.address);
    try {
      const session = "reads";
      await unary(client, "InitializeSession", { session_id: session });
      const ids: Record<string, string> = {};
      for (const name of ["temperature", "temp", "t", "top_p"]) {
        const registered = await unary<{ variable_id: string }>(client, "RegisterVariable", {
          session_id: session,
          name,
          type: "float",
          initial_value: any("float", 0.5),
        });
        if (!registered.ok) throw new Error(registered.details);
        ids[name] = registered.response.variable_id;
      }
      const names = async (pattern: string) => {
        const listed = await unary<{ variables: { name: string }[] }>(client, "ListVariables", {
          session_id: session,
          pattern,
        });
        return listed.ok ? listed.response.variables.map((v) => v.name) : listed.details;
      };
      expect(await names("")).toEqual(["temperature", "temp", "t", "top_p"]);
      expect(await names("temp*")).toEqual(["temperature", "temp"]);
      expect(await names("?")).toEqual(["t"]);
      expect(await names("t?p*")).toEqual(["top_p"]);
      expect(await names("(.*)")).toEqual([]);
      const got = await unary<{
        variables: Record<string, { id: string; name: string }>;
        missing_variables: string[];
      }>(client, "GetVariables", {
        session_id: session,
        variable_identifiers: ["temp", ids.top_p, "nope", "t"],
      });
      if (!got.ok) throw new Error(got.details);
      expect(Object.keys(got.response.variables).sort()).toEqual([ids.top_p, "t", "temp"].sort());
      expect(got.response.variables[ids.top_p!]!.name).toBe("top_p");
      expect(got.response.variables.temp!.id).toBe(ids.temp);
      expect(got.response.missing_variables).toEqual(["nope"]);
    } finally {
      client.close();
    }
  });

  it("GetVariableHistory answers the retained versions newest first, with a limit; a negative one is INVALID_ARGUMENT", async () => {
    const store = new SessionStore({ maxVersionsPerVariable: 3 });
    const small = await BridgeServer.start({ store });
    const client = rawClient(small.address);
    try {
      await unary(client, "InitializeSession", { session_id: "h" });
      await unary(client, "RegisterVariable", {
        session_id: "h",
        name: "score",
        type: "float",
        initial_value: any("float", 0),
      });
      for (const value of [0.25, 0.5, 0.75, 1]) {
        const set = await unary(client, "SetVariable", {
          session_id: "h",
          variable_identifier: "score",
          value: any("float", value),
          metadata: { source: "python", trial: String(value) },
        });
        expect(set.ok).toBe(true);
      }
      type Versions = {
        versions: {
          version: number;
          value: { value: Buffer };
          source_name: string;
          metadata: Record<string, string>;
        }[];
      };
      const all = await unary<Versions>(client, "GetVariableHistory", {
        session_id: "h",
        variable_identifier: "score",
      });
      if (!all.ok) throw new Error(all.details);
      expect(all.response.versions.map((v) => v.version)).toEqual([5, 4, 3]);
      expect(all.response.versions.map((v) => JSON.parse(v.value.value.toString()))).toEqual([
        1, 0.75, 0.5,
      ]);
      expect(all.response.versions[0]).toMatchObject({
        source_name: "python",
        metadata: { trial: "1" },
      });
      const two = await unary<Versions>(client, "GetVariableHistory", {
        session_id: "h",
        variable_identifier: "score",
        limit: 1,
      });
      expect(two.ok && two.response.versions.map((v) => v.version)).toEqual([5]);
      const negative = await unary(client, "GetVariableHistory", {
        session_id: "h",
        variable_identifier: "score",
        limit: -1,
      });
      expect(negative).toMatchObject({ ok: false, code: grpc.status.INVALID_ARGUMENT });
      expect(!negative.ok && negative.details).toMatch(/limit/);
    } finally {
      client.close();
      await small.close();
      store.close();
    }
  });

  it("counts one store operation per data call, SetVariable included", async () => {
    const client = rawClient(server.address);
    try {
      await unary(client, "InitializeSession", { session_id: "ops" });
      const count = async (method: string, request: object) => {
        const before = server.store.stats().operations;
        await unary(client, method, { session_id: "ops", ...request });
        return server.store.stats().operations - before;
      };
      const register = { name: "n", type: "integer", initial_value: any("integer", 1) };
      expect(await count("RegisterVariable", register)).toBe(1);
      expect(await count("GetVariable", { variable_identifier: "n" })).toBe(1);
      const set = { variable_identifier: "n", value: any("integer", 2) };
      expect(await count("SetVariable", set)).toBe(1);
      const failing = { variable_identifier: "n", value: any("integer", 2.5) };
      expect(await count("SetVariable", failing)).toBe(1);
      const notDecodable = { variable_identifier: "n", value: any("string", "x") };
      expect(await count("SetVariable", notDecodable)).toBe(1);
      expect(await count("SetVariables", { updates: { n: any("integer", 3) } })).toBe(1);
    } finally {
      client.close();
    }
  });

  it("answers Ping, Heartbeat, GetSession, GetExposedElixirTools (empty)", async () => {
    const client = rawClient(server.address);
    try {
      const ping = await unary<{ message: string; server_time: { seconds: string } }>(
        client,
        "Ping",
        { message: "hello" },
      );
      expect(ping.ok && ping.response.message).toBe("hello");
      expect(ping.ok && Number(ping.response.server_time.seconds)).toBeGreaterThan(1_600_000_000);
      await unary(client, "InitializeSession", {
        session_id: "basic",
        metadata: { owner: "test" },
      });
      await unary(client, "RegisterVariable", {
        session_id: "basic",
        name: "t",
        type: "float",
        initial_value: any("float", 1),
      });
      const hb = await unary<{ session_valid: boolean }>(client, "Heartbeat", {
        session_id: "basic",
      });
      expect(hb.ok && hb.response.session_valid).toBe(true);
      const hbUnknown = await unary<{ session_valid: boolean }>(client, "Heartbeat", {
        session_id: "nope",
      });
      expect(hbUnknown.ok && hbUnknown.response.session_valid).toBe(false);
      const info = await unary<{ metadata: Record<string, string>; variable_count: number }>(
        client,
        "GetSession",
        { session_id: "basic" },
      );
      expect(info.ok && info.response).toMatchObject({
        metadata: { owner: "test" },
        variable_count: 1,
      });
      const tools = await unary<{ tools: unknown[] }>(client, "GetExposedElixirTools", {
        session_id: "basic",
      });
      expect(tools.ok && tools.response.tools).toEqual([]);
      const batch = await unary<{
        variables: Record<string, { name: string }>;
        missing_variables: string[];
      }>(client, "GetVariables", {
        session_id: "basic",
        variable_identifiers: ["t", "ghost"],
      });
      expect(batch.ok && Object.keys(batch.response.variables)).toEqual(["t"]);
      expect(batch.ok && batch.response.missing_variables).toEqual(["ghost"]);
    } finally {
      client.close();
    }
  });

  it("keeps the writer's metadata; source PYTHON for python writes, source_name carries it", async () => {
    const client = rawClient(server.address);
    try {
      await unary(client, "InitializeSession", { session_id: "meta" });
      await unary(client, "RegisterVariable", {
        session_id: "meta",
        name: "t",
        type: "float",
        initial_value: any("float", 1),
      });
      await unary(client, "SetVariable", {
        session_id: "meta",
        variable_identifier: "t",
        value: any("float", 2),
        metadata: { source: "python", optimizer: "mipro" },
      });
      const got = await unary<{
        variable: { source: string; source_name: string; metadata: Record<string, string> };
      }>(client, "GetVariable", {
        session_id: "meta",
        variable_identifier: "t",
      });
      expect(got.ok && got.response.variable).toMatchObject({
        source: "PYTHON",
        source_name: "python",
        metadata: { source: "python", optimizer: "mipro" },
      });
      const record = server.store.get("meta", "t");
      expect(record.ok && record.value.source).toBe("python");
    } finally {
      client.close();
    }
  });

  it("serves standard health checking and server reflection", async () => {
    const health = healthClient(server.address);
    const check = await new Promise<{ status: string }>((resolve, reject) =>
      (
        health as unknown as {
          Check: (r: object, cb: (e: Error | null, v: { status: string }) => void) => void;
        }
      ).Check({ service: "snakepit.bridge.BridgeService" }, (e, v) => (e ? reject(e) : resolve(v))),
    );
    expect(check.status).toBe("SERVING");
    health.close();

    const reflectionPath = createRequire(import.meta.url).resolve(
      "@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto",
    );
    const definition = protoLoader.loadSync(reflectionPath, { keepCase: true });
    const pkg = grpc.loadPackageDefinition(definition) as unknown as {
      grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } };
    };
    const reflection = new pkg.grpc.reflection.v1.ServerReflection(
      server.address,
      grpc.credentials.createInsecure(),
    );
    type ReflectionResponse = { list_services_response: { service: { name: string }[] } };
    const stream = (
      reflection as unknown as {
        ServerReflectionInfo: () => grpc.ClientDuplexStream<object, ReflectionResponse>;
      }
    ).ServerReflectionInfo();
    const services = await new Promise<string[]>((resolve, reject) => {
      stream.on("data", (response: ReflectionResponse) => {
        resolve(response.list_services_response.service.map((s) => s.name));
        stream.end();
      });
      stream.on("error", reject);
      stream.write({ list_services: "" });
    });
    expect(services).toContain("snakepit.bridge.BridgeService");
    reflection.close();
  });
});

describe("TLS", () => {
  let dir: string;
  let server: BridgeServer;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "dspex-tls-"));
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
      ],
      { stdio: "ignore" },
    );
    server = await BridgeServer.start({
      tls: { cert: readFileSync(join(dir, "cert.pem")), key: readFileSync(join(dir, "key.pem")) },
      token: "tls-token",
    });
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves TLS to a client that trusts the certificate; plaintext clients fail", async () => {
    const secure = rawClient(
      server.address,
      grpc.credentials.createSsl(readFileSync(join(dir, "cert.pem"))),
    );
    const metadata = new grpc.Metadata();
    metadata.set("authorization", "Bearer tls-token");
    const ping = await unary<{ message: string }>(
      secure,
      "Ping",
      { message: "over tls" },
      metadata,
    );
    expect(ping).toMatchObject({ ok: true, response: { message: "over tls" } });
    secure.close();
    const plain = rawClient(server.address);
    const refused = await unary(plain, "Ping", { message: "plain" }, metadata);
    expect(refused.ok).toBe(false);
    plain.close();
  });

  it("RemoteState speaks TLS with a token", async () => {
    const remote = new RemoteState({
      address: server.address,
      token: "tls-token",
      tls: { ca: readFileSync(join(dir, "cert.pem")) },
    });
    const init = await remote.init({ sessionId: "tls" });
    if (!init.ok) throw new Error(init.error.message);
    await remote.registerVariable(init.value, "x", "integer", 1);
    expect(await remote.getVariable(init.value, "x")).toEqual({ ok: true, value: 1 });
    await remote.cleanup(init.value);
  });

  it("the CLI serves TLS from --tls-cert and --tls-key", async () => {
    const server = await startCli(
      ["--port", "0", "--tls-cert", join(dir, "cert.pem"), "--tls-key", join(dir, "key.pem")],
      "ignore",
    );
    const { address, child } = server;
    const secure = rawClient(
      address,
      grpc.credentials.createSsl(readFileSync(join(dir, "cert.pem"))),
    );
    const ping = await unary<{ message: string }>(secure, "Ping", { message: "cli tls" });
    expect(ping).toMatchObject({ ok: true, response: { message: "cli tls" } });
    secure.close();
    child.kill("SIGINT");
    expect(await server.exited).toBe(0);
  });

  it("the CLI exits 0 on a SIGTERM that arrives during startup (here: while it reads --tls-cert)", async () => {
    const cli = join(import.meta.dirname, "..", "bin", "dspex-bridge.js");
    // A FIFO holds the CLI in its startup until the test writes the certificate: the signal
    // lands at a known point before the server is up.
    const fifo = join(dir, "cert.fifo");
    execFileSync("mkfifo", [fifo]);
    const child = spawn(
      process.execPath,
      [cli, "serve", "--port", "0", "--tls-cert", fifo, "--tls-key", join(dir, "key.pem")],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.on("exit", (code, signal) => resolve({ code, signal })),
    );
    // Opening the write end waits until the CLI has opened the read end.
    const writer = await open(fifo, "w");
    child.kill("SIGTERM");
    await writer.writeFile(readFileSync(join(dir, "cert.pem")));
    await writer.close();
    expect(await exit, stderr).toEqual({ code: 0, signal: null });
    expect(stderr).toMatch(/SIGTERM/);
  });
});

describe("BridgeServer options", () => {
  it("refuses non-positive intervals and sizes with a TypeError naming the option", async () => {
    // A heartbeat interval of 0 would flood every watch stream with heartbeats.
    for (const [option, value] of [
      ["heartbeatMs", 0],
      ["heartbeatMs", -5],
      ["heartbeatMs", Number.NaN],
      // Node turns a timer delay above 2^31-1 ms into 1 ms.
      ["heartbeatMs", 2 ** 31],
      ["maxMessageBytes", 0],
      ["shutdownTimeoutMs", -1],
      ["warmUp", -1],
    ] as const) {
      await expect(BridgeServer.start({ [option]: value }), option).rejects.toThrow(
        new RegExp(`${option} must be`),
      );
    }
    const store = new SessionStore();
    await expect(BridgeServer.start({ store, heartbeatMs: 0 })).rejects.toThrow(TypeError);
    expect(store.closed).toBe(false);
    store.close();
  });
});

describe("warm-up", () => {
  it("makes its calls through the server before start resolves, and leaves no session behind", async () => {
    const store = new SessionStore();
    const before = store.stats().operations;
    const server = await BridgeServer.start({ store, warmUp: 200, token: "warm-secret" });
    try {
      // 200 calls plus the session's set-up reached the store, through the token check.
      expect(store.stats().operations - before).toBeGreaterThanOrEqual(200);
      expect(store.listSessions()).toEqual([]);
    } finally {
      await server.close();
      store.close();
    }
  });
});

describe("graceful shutdown", () => {
  it("ends watch streams with UNAVAILABLE, then refuses new calls; the store it was given survives", async () => {
    const store = new SessionStore();
    const server = await BridgeServer.start({ store, shutdownTimeoutMs: 2_000 });
    const client = rawClient(server.address);
    await unary(client, "InitializeSession", { session_id: "s" });
    const call = client.WatchVariables({ session_id: "s" });
    call.on("data", () => {});
    call.on("error", () => {});
    const status = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
    await new Promise((resolve) => call.on("metadata", resolve));
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    const ended = await status;
    expect(ended.code).toBe(grpc.status.UNAVAILABLE);
    expect(ended.details).toContain("shutting down");
    const after = await unary(client, "Ping", { message: "x" });
    expect(after).toMatchObject({ ok: false, code: grpc.status.UNAVAILABLE });
    client.close();
    expect(store.getSession("s").ok).toBe(true);
    store.close();
  });
});

describe("graceful shutdown of other streams", () => {
  it("health Watch streams hear NOT_SERVING, then end with UNAVAILABLE instead of holding shutdown", async () => {
    const server = await BridgeServer.start({ shutdownTimeoutMs: 4_000 });
    const health = healthClient(server.address);
    const call = (
      health as unknown as {
        Watch(request: object): grpc.ClientReadableStream<{ status: string }>;
      }
    ).Watch({ service: "" });
    const heard: string[] = [];
    call.on("data", (message: { status: string }) => heard.push(message.status));
    call.on("error", () => {});
    const status = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
    await new Promise((resolve) => call.on("metadata", resolve));
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect((await status).code).toBe(grpc.status.UNAVAILABLE);
    expect(heard).toEqual(["SERVING", "NOT_SERVING"]);
    health.close();
  });
});

describe("forced shutdown", () => {
  it("a call that never finishes is cut after shutdownTimeoutMs", async () => {
    const server = await BridgeServer.start({ shutdownTimeoutMs: 300 });
    // A raw HTTP/2 client that starts a unary call and never sends its message.
    const session = connect(`http://${server.address}`);
    await new Promise((resolve) => session.on("connect", resolve));
    const stream = session.request({
      ":method": "POST",
      ":path": "/snakepit.bridge.BridgeService/Ping",
      "content-type": "application/grpc",
      te: "trailers",
    });
    stream.on("error", () => {});
    session.on("error", () => {});
    // The server has the call once the request's headers are flushed and a round trip has passed.
    await new Promise((resolve) => session.ping(() => resolve(undefined)));
    const closed = new Promise<void>((resolve) => stream.on("close", () => resolve()));
    const started = Date.now();
    await server.close();
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(2_000);
    await closed;
    session.destroy();
  });
});

describe("dspex-bridge CLI", () => {
  const cli = join(import.meta.dirname, "..", "bin", "dspex-bridge.js");

  it("serve --port 0 prints one line with the real port, serves, and exits 0 on SIGTERM", async () => {
    const child = spawn(process.execPath, [cli, "serve", "--port", "0", "--session-ttl", "60"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (chunk) => {
        stdout += chunk;
        if (stdout.includes("\n")) resolve(stdout.split("\n")[0]!);
      });
      child.on("exit", (code) => reject(new Error(`exited ${code}: ${stderr}`)));
    });
    const match = /^dspex-bridge listening on 127\.0\.0\.1:(\d+)$/.exec(line);
    expect(match, line).not.toBeNull();
    const port = Number(match![1]);
    expect(port).toBeGreaterThan(0);
    const client = rawClient(`127.0.0.1:${port}`);
    const ping = await unary<{ message: string }>(client, "Ping", { message: "cli" });
    expect(ping).toMatchObject({ ok: true, response: { message: "cli" } });
    client.close();
    const exit = new Promise<number | null>((resolve) => child.on("exit", resolve));
    child.kill("SIGTERM");
    expect(await exit).toBe(0);
    expect(stdout.trim().split("\n")).toHaveLength(1);
    expect(stderr).toMatch(/SIGTERM: shutting down/);
  });

  it("an empty --host or --token, or a timer beyond Node's range, is a usage error (exit 2)", () => {
    for (const [flag, value, message] of [
      ["--host", "", /--host must not be empty/],
      ["--token", "", /--token must not be empty/],
      ["--heartbeat-ms", String(2 ** 31), /--heartbeat-ms must be .* up to 2147483647/],
      ["--warm-up", "lots", /--warm-up must be a non-negative integer/],
    ] as const) {
      let failure: { status: number; stderr: string } | undefined;
      try {
        execFileSync(process.execPath, [cli, "serve", "--port", "0", flag, value], {
          encoding: "utf8",
          stdio: "pipe",
        });
      } catch (error) {
        failure = error as { status: number; stderr: string };
      }
      expect(failure?.status, flag).toBe(2);
      expect(failure?.stderr, flag).toMatch(message);
    }
  });

  it("--help prints usage and exits 0; a bad flag exits 2 with a clear message", () => {
    const help = execFileSync(process.execPath, [cli, "--help"], { encoding: "utf8" });
    expect(help).toMatch(/Usage: dspex-bridge serve/);
    let failure: { status: number; stderr: string } | undefined;
    try {
      execFileSync(process.execPath, [cli, "serve", "--prot", "1"], {
        encoding: "utf8",
        stdio: "pipe",
      });
    } catch (error) {
      failure = error as { status: number; stderr: string };
    }
    expect(failure?.status).toBe(2);
    expect(failure?.stderr).toMatch(/Unknown option '--prot'/);
  });
});

describe("dspex-bridge CLI on a non-loopback --host", () => {
  const cli = join(import.meta.dirname, "..", "bin", "dspex-bridge.js");
  const run = (args: readonly string[]) => {
    try {
      const stdout = execFileSync(process.execPath, [cli, "serve", "--port", "0", ...args], {
        encoding: "utf8",
        stdio: "pipe",
        env: withoutToken(),
        timeout: 20_000,
      });
      return { status: 0, stdout, stderr: "" };
    } catch (error) {
      return error as { status: number; stdout: string; stderr: string };
    }
  };

  it("refuses it without a token (exit 2, saying why), before binding anything", () => {
    for (const host of ["0.0.0.0", "::", "192.0.2.1", "example.invalid", "::ffff:10.0.0.1"]) {
      const refused = run(["--host", host]);
      expect(refused.status, host).toBe(2);
      expect(refused.stderr, host).toMatch(
        new RegExp(`--host ${host.replace(/\./g, "\\.")} is not a loopback address and no token`),
      );
      expect(refused.stderr, host).toMatch(/--allow-unauthenticated to accept that risk/);
      expect(refused.stdout, host).not.toMatch(/listening/);
    }
  });

  it("--allow-unauthenticated or a token lets it through, with a warning about plaintext", () => {
    // 192.0.2.1 (TEST-NET-1) is on no interface here: the check passes, the bind then fails.
    for (const args of [
      ["--host", "192.0.2.1", "--allow-unauthenticated"],
      ["--host", "192.0.2.1", "--token", "t"],
    ]) {
      const started = run(args);
      expect(started.status, args.join(" ")).toBe(1);
      expect(started.stderr).toMatch(/warning: serving plaintext on 192\.0\.2\.1/);
      expect(started.stderr).toMatch(/cannot start/);
      const allowed = args.includes("--allow-unauthenticated");
      expect(/anyone who can reach 192\.0\.2\.1 can read and change/.test(started.stderr)).toBe(
        allowed,
      );
    }
  });

  it("loopback hosts need neither token nor flag, and warn about nothing", async () => {
    for (const host of ["127.0.0.2", "localhost"]) {
      const server = await startCli(["--port", "0", "--host", host], "capture", withoutToken());
      expect(server.address).toMatch(host === "localhost" ? /^localhost:\d+$/ : /^127\.0\.0\.2:/);
      expect(await server.stop()).toBe(0);
      expect(server.stderr()).not.toMatch(/warning/);
    }
  });
});

function withoutToken(): NodeJS.ProcessEnv {
  const { DSPEX_BRIDGE_TOKEN: _token, ...env } = process.env;
  return env;
}
