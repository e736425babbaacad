import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BridgedState, RemoteState } from "@dspex/bridged-state";
import { LocalState } from "@dspex/local-state";
import { Context, type Result, unwrap, type VariableEvent } from "@dspex/state-provider";
import { afterEach, describe, expect, it, vi } from "vitest";

/*
 * Context with the real backends: it starts on LocalState and switches to a BridgedState that
 * serves its store over gRPC on an ephemeral loopback port; then a RemoteState client and a real
 * Python worker (the dspex_bridge client on /usr/bin/python3) write to the same session.
 */

const PYTHON = "/usr/bin/python3";
const PYTHON_CLIENT = join(
  dirname(createRequire(import.meta.url).resolve("@dspex/bridged-state/package.json")),
  "python",
);
const WORKER = join(dirname(fileURLToPath(import.meta.url)), "tuning_worker.py");

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A Context on LocalState whose bridged backend is created (and served) on the first switch. */
async function startContext() {
  let bridged: BridgedState | undefined;
  const context = unwrap(
    await Context.create({
      local: LocalState,
      bridged: async () => {
        bridged = await BridgedState.serve({ host: "127.0.0.1", port: 0 });
        return bridged;
      },
      sessionId: `it-${randomUUID()}`,
    }),
  );
  cleanups.push(async () => {
    await context.close();
    await bridged?.close();
  });
  return { context, bridged: () => bridged };
}

async function registerTuningVariables(context: Context): Promise<void> {
  unwrap(await context.register("temperature", "float", 0.7, { constraints: { min: 0, max: 2 } }));
  unwrap(
    await context.register("max_tokens", "integer", 256, { constraints: { min: 1, max: 4096 } }),
  );
  unwrap(
    await context.register("model", "choice", "small", {
      constraints: { choices: ["small", "large"] },
    }),
  );
  unwrap(
    await context.register("system_prompt", "string", "Answer briefly.", {
      constraints: { maxLength: 500 },
      description: "the system prompt",
    }),
  );
  unwrap(
    await context.register("query_vector", "embedding", [0.1, 0.2, 0.3], {
      constraints: { dimensions: 3 },
    }),
  );
  unwrap(await context.register("weights", "tensor", { shape: [2, 2], data: [1, 2, 3, 4] }));
  unwrap(await context.set("temperature", 0.8, { metadata: { source: "warmup", step: "1" } }));
  unwrap(await context.set("model", "large"));
}

function runWorker(
  address: string,
  sessionId: string,
  steps: number,
): Promise<{ code: number | null; lines: string[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [WORKER, address, sessionId, String(steps)], {
      env: { ...process.env, PYTHONPATH: PYTHON_CLIENT },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, lines: stdout.trim().split("\n").filter(Boolean), stderr });
    });
  });
}

describe("Context from LocalState to BridgedState", () => {
  it("moves every variable and watch; a gRPC client and a Python worker then share the session", async () => {
    const { context, bridged } = await startContext();
    await registerTuningVariables(context);
    const events: VariableEvent[] = [];
    unwrap(await context.watch("*", (event) => events.push(event)));
    const before = unwrap(await context.list());

    const worker = unwrap(await context.attachWorker({ name: "optimizer" }));
    expect(worker).toMatchObject({ sessionId: context.sessionId, backend: "BridgedState" });
    expect(context.info()).toMatchObject({ kind: "bridged", backend: "BridgedState", switches: 1 });
    expect(context.info().history[0]).toMatchObject({
      fromBackend: "LocalState",
      variables: 6,
      watches: 1,
    });
    expect(unwrap(await context.list())).toEqual(before);
    expect(events).toEqual([]);
    const server = bridged()!;
    expect(server.store.getSession(context.sessionId).ok).toBe(true);
    const address = server.address!;
    expect(address).toMatch(/^127\.0\.0\.1:\d+$/);

    // Another Node process would use RemoteState: one CAS write over a real gRPC hop.
    const remote = new RemoteState({ address });
    const session = unwrap(await remote.init({ sessionId: context.sessionId }));
    const written = unwrap(
      await remote.setVariable(
        session,
        "max_tokens",
        512,
        { source: "remote" },
        { expectedVersion: 1 },
      ),
    );
    await remote.cleanup(session);
    expect(written.version).toBe(2);
    expect(unwrap(await context.getRecord("max_tokens"))).toMatchObject({
      value: 512,
      version: 2,
      source: "remote",
    });

    // A real Python worker raises the temperature three times with compare-and-set.
    const run = await runWorker(address, context.sessionId, 3);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.lines.map((line) => JSON.parse(line))).toEqual([
      { value: 0.9, version: 3 },
      { value: 1, version: 4 },
      { value: 1.1, version: 5 },
    ]);
    expect(unwrap(await context.getRecord("temperature"))).toMatchObject({
      value: 1.1,
      version: 5,
      source: "python",
    });

    // The watch registered on LocalState saw each of those writes once.
    await vi.waitFor(() => expect(events).toHaveLength(4));
    expect(events.map((e) => [e.name, e.value, e.version, e.source])).toEqual([
      ["max_tokens", 512, 2, "remote"],
      ["temperature", 0.9, 3, "python"],
      ["temperature", 1, 4, "python"],
      ["temperature", 1.1, 5, "python"],
    ]);

    await context.close();
    expect(server.store.getSession(context.sessionId).ok).toBe(false);
  });

  it("1000 concurrent sets racing the switch are each applied exactly once", async () => {
    const { context } = await startContext();
    const count = 1000;
    for (let i = 0; i < count; i++) unwrap(await context.register(`v${i}`, "integer", 0));
    const updates = new Map<string, number>();
    unwrap(
      await context.watch("v*", (event) => {
        updates.set(event.name, (updates.get(event.name) ?? 0) + 1);
      }),
    );
    const sets: Promise<Result<number>>[] = [];
    let switching: Promise<unknown> | undefined;
    for (let i = 0; i < count; i++) {
      if (i === 400) switching = context.ensureBridged();
      sets.push(context.set(`v${i}`, i + 1));
    }
    const versions = await Promise.all(sets);
    await switching;
    expect(versions.filter((v) => !(v.ok && v.value === 2))).toEqual([]);
    expect(context.kind).toBe("bridged");
    const records = unwrap(await context.list());
    expect(records.filter((r, i) => r.value !== i + 1 || r.version !== 2)).toEqual([]);
    expect(updates.size).toBe(count);
    expect([...updates.values()].filter((n) => n !== 1)).toEqual([]);
  });

  it("rolls back when a worker already created the session and took a name", async () => {
    const bridged = await BridgedState.serve({ host: "127.0.0.1", port: 0 });
    const sessionId = `it-${randomUUID()}`;
    unwrap(bridged.store.createSession(sessionId));
    const taken = unwrap(
      bridged.store.register(sessionId, { name: "temperature", type: "float", value: 0.1 }),
    );
    const context = unwrap(await Context.create({ local: LocalState, bridged, sessionId }));
    cleanups.push(async () => {
      await context.close();
      await bridged.close();
    });
    await registerTuningVariables(context);
    const before = unwrap(await context.list());

    const result = await context.ensureBridged();
    expect(result.ok ? undefined : result.error).toMatchObject({
      code: "already_exists",
      identifier: "temperature",
    });
    expect(context.info()).toMatchObject({ kind: "local", backend: "LocalState", switches: 0 });
    expect(context.info().history[0]).toMatchObject({ ok: false, failedStep: "import" });
    expect(unwrap(await context.list())).toEqual(before);
    expect(unwrap(await context.set("max_tokens", 300))).toBe(2);
    // The worker's session is left as it was: joined, not owned, so not deleted.
    expect(unwrap(bridged.store.list(sessionId))).toEqual([taken]);
  });
});
