import { spawnSync } from "node:child_process";
import { request } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BridgeServer, SessionStore } from "../src/index.js";
import { any, rawClient, startCli, unary } from "./helpers.js";

/*
 * The inspector's HTTP side against a real BridgeServer: read-only routes, the token rule, the
 * Host check and the event stream fed by the store's subscriptions. The page itself runs in a
 * real browser in inspector-browser.test.ts.
 */

const TOKEN = "inspect-secret";

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

function get(
  url: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const call = request(
      url,
      { method: options.method ?? "GET", headers: options.headers, agent: false },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    call.on("error", reject);
    call.end();
  });
}

/** An open event stream: the raw text received so far, and a way to wait for more. */
function events(url: string) {
  let text = "";
  let ended = false;
  const listeners = new Set<() => void>();
  const opened = new Promise<number>((resolve, reject) => {
    const call = request(url, (res) => {
      res.setEncoding("utf8");
      res.on("data", (chunk) => {
        text += chunk;
        for (const listener of listeners) listener();
      });
      res.on("end", () => {
        ended = true;
        for (const listener of listeners) listener();
      });
      resolve(res.statusCode ?? 0);
    });
    call.on("error", reject);
    call.end();
  });
  const until = (done: () => boolean, what: string) =>
    new Promise<void>((resolve, reject) => {
      if (done()) return resolve();
      const timer = setTimeout(
        () => reject(new Error(`${what}; got ${JSON.stringify(text)}`)),
        3_000,
      );
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        listeners.delete(check);
        resolve();
      };
      listeners.add(check);
    });
  return {
    opened,
    get text() {
      return text;
    },
    get ended() {
      return ended;
    },
    until,
  };
}

describe("the inspector over HTTP", () => {
  let store: SessionStore;
  let server: BridgeServer;
  let base: string;
  const withToken = (path: string) =>
    `${base}${path}${path.includes("?") ? "&" : "?"}token=${TOKEN}`;

  beforeAll(async () => {
    store = new SessionStore();
    server = await BridgeServer.start({ store, token: TOKEN, inspect: { port: 0 } });
    base = server.inspector!.url.replace(/\/$/, "");
    store.createSession("run", { metadata: { optimizer: "grid" } });
    store.register("run", { name: "score", type: "float", value: 0.25 });
    for (const value of [0.5, Number.NaN, 0.75]) store.set("run", "score", value);
    store.register("run", { name: "model", type: "string", value: "gpt-4o" });
  });
  afterAll(async () => {
    await server.close();
    store.close();
  });

  it("binds 127.0.0.1 on its own port; the page and its scripts need no token, the data does", async () => {
    expect(server.inspector!.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(server.inspector!.port).not.toBe(server.port);
    const page = await get(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toMatch(/text\/html/);
    expect(page.body).toContain('<script src="assets/uPlot.iife.min.js"></script>');
    expect(page.headers["content-security-policy"]).toMatch(/default-src 'self'/);
    const chart = await get(`${base}/assets/uPlot.iife.min.js`);
    expect(chart.status).toBe(200);
    expect(chart.body).toContain("uPlot");
    const refused = await get(`${base}/api/sessions`);
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.body).error).toMatch(/\?token=/);
    const wrong = await get(`${base}/api/sessions?token=nope`);
    expect(wrong.status).toBe(401);
    const bearer = await get(`${base}/api/sessions`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(bearer.status).toBe(200);
    const query = await get(withToken("/api/sessions"));
    expect(JSON.parse(query.body).sessions).toMatchObject([
      { id: "run", variableCount: 2, metadata: { optimizer: "grid" } },
    ]);
  });

  it("answers a session's variables and a variable's history, newest first, with special floats as strings", async () => {
    const session = JSON.parse((await get(withToken("/api/sessions/run"))).body);
    expect(session.variables.map((v: { name: string }) => v.name)).toEqual(["score", "model"]);
    expect(session.variables[0]).toMatchObject({ value: 0.75, version: 4, source: "typescript" });
    const history = JSON.parse((await get(withToken("/api/sessions/run/history/score"))).body);
    expect(history.versions.map((v: { value: unknown }) => v.value)).toEqual([
      0.75,
      "NaN",
      0.5,
      0.25,
    ]);
    const two = JSON.parse((await get(withToken("/api/sessions/run/history/score?limit=2"))).body);
    expect(two.versions.map((v: { version: number }) => v.version)).toEqual([4, 3]);
    const badLimit = await get(withToken("/api/sessions/run/history/score?limit=0"));
    expect(badLimit.status).toBe(400);
    expect(JSON.parse(badLimit.body).error).toMatch(/limit/);
    expect((await get(withToken("/api/sessions/nope"))).status).toBe(404);
    expect((await get(withToken("/api/sessions/run/history/nope"))).status).toBe(404);
    expect((await get(withToken("/api/sessions/run/what"))).status).toBe(404);
    expect((await get(withToken("/api/sessions/%E0%A4%A"))).status).toBe(404);
  });

  it("never writes and never keeps a session alive: reads count no store operation", async () => {
    const before = store.stats().operations;
    const lastAccess = store.getSession("run");
    const operationsAfterGetSession = store.stats().operations;
    for (const path of ["/api/sessions", "/api/sessions/run", "/api/sessions/run/history/score"]) {
      expect((await get(withToken(path))).status).toBe(200);
    }
    expect(store.stats().operations).toBe(operationsAfterGetSession);
    expect(operationsAfterGetSession).toBeGreaterThanOrEqual(before);
    expect(store.listSessions()[0]?.lastAccessAt).toBe(
      lastAccess.ok && lastAccess.value.lastAccessAt,
    );
    for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
      const refused = await get(withToken("/api/sessions/run"), { method });
      expect(refused.status, method).toBe(405);
      expect(refused.headers.allow).toBe("GET, HEAD");
    }
    expect(store.stats().operations).toBe(operationsAfterGetSession);
  });

  it("refuses a Host header naming another site (DNS rebinding)", async () => {
    const rebound = await get(withToken("/api/sessions"), { headers: { host: "evil.example:80" } });
    expect(rebound.status).toBe(421);
    const local = await get(withToken("/api/sessions"), { headers: { host: "localhost" } });
    expect(local.status).toBe(200);
  });

  it("streams every committed change as a server-sent event, and ends when the session does", async () => {
    store.createSession("live");
    store.register("live", { name: "step", type: "integer", value: 0 });
    const stream = events(withToken("/api/sessions/live/events"));
    expect(await stream.opened).toBe(200);
    await stream.until(
      () => stream.text.includes("retry:"),
      "the stream opens with its retry line",
    );
    store.set("live", "step", 1, { source: "python" });
    store.update("live", new Map([["step", { value: 2 }]]));
    await stream.until(() => stream.text.split("event: change").length === 3, "two change events");
    const payloads = stream.text
      .split("\n")
      .filter((line) => line.startsWith("data: "))
      .map((line) => JSON.parse(line.slice(6)));
    expect(
      payloads.map((p) => [p.kind, p.record.version, p.record.value, p.record.source]),
    ).toEqual([
      ["updated", 2, 1, "python"],
      ["updated", 3, 2, "typescript"],
    ]);
    store.deleteSession("live");
    await stream.until(() => stream.ended, "the stream ends with the session");
    expect(stream.text).toContain('event: end\ndata: {"reason":"deleted"}');
    const missing = await get(withToken("/api/sessions/gone/events"));
    expect(missing.status).toBe(404);
  });

  it("closing the bridge ends open event streams and stops the inspector", async () => {
    const own = await BridgeServer.start({ inspect: { port: 0 } });
    own.store.createSession("s");
    const stream = events(`${own.inspector!.url}api/sessions/s/events`);
    expect(await stream.opened).toBe(200);
    await own.close();
    await stream.until(() => stream.ended, "the stream ends at shutdown");
    await expect(get(`${own.inspector!.url}api/sessions`)).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe("dspex-bridge serve --inspect", () => {
  const cli = join(import.meta.dirname, "..", "bin", "dspex-bridge.js");
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [cli, "serve", "--port", "0", ...args], { encoding: "utf8" });

  it("refuses a non-loopback --inspect-host without a token, and --inspect-host without --inspect", () => {
    const open = run("--inspect", "0", "--inspect-host", "0.0.0.0");
    expect(open.status).toBe(2);
    expect(open.stderr).toMatch(/--inspect-host 0\.0\.0\.0 is not a loopback address and no token/);
    const alone = run("--inspect-host", "127.0.0.1");
    expect(alone.status).toBe(2);
    expect(alone.stderr).toMatch(/--inspect-host needs --inspect PORT/);
    const tooHigh = run("--inspect", "70000");
    expect(tooHigh.status).toBe(2);
    expect(tooHigh.stderr).toMatch(/--inspect must be at most 65535/);
  });

  it("--max-versions bounds each variable's history", async () => {
    const cli = await startCli(["--max-versions", "2"]);
    const client = rawClient(cli.address);
    try {
      await unary(client, "InitializeSession", { session_id: "m" });
      await unary(client, "RegisterVariable", {
        session_id: "m",
        name: "n",
        type: "integer",
        initial_value: any("integer", 1),
      });
      for (const value of [2, 3, 4]) {
        await unary(client, "SetVariable", {
          session_id: "m",
          variable_identifier: "n",
          value: any("integer", value),
        });
      }
      const history = await unary<{ versions: { version: number }[] }>(
        client,
        "GetVariableHistory",
        { session_id: "m", variable_identifier: "n" },
      );
      expect(history.ok && history.response.versions.map((v) => v.version)).toEqual([4, 3]);
      expect(run("--max-versions", "0").stderr).toMatch(
        /--max-versions must be a positive integer/,
      );
    } finally {
      client.close();
      expect(await cli.stop()).toBe(0);
    }
  });
});
