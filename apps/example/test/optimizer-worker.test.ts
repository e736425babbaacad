import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { dirname } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { BridgedState } from "@dspex/bridged-state";
import { LocalState } from "@dspex/local-state";
import { Context, unwrap } from "@dspex/state-provider";
import { afterEach, describe, expect, it } from "vitest";
import {
  MODELS,
  PROMPT_BASE,
  registerTuningVariables,
  SCORING,
  score,
  TUNED_VARIABLES,
  type TuningValues,
} from "../src/program.js";
import {
  DEFAULT_PYTHON,
  PYTHON_CLIENT_PATH,
  WORKER_SCRIPT,
  type WorkerMessage,
  WorkerProcess,
} from "../src/worker-process.js";

/*
 * The Python optimizer and its supervisor, against a real served BridgedState: the retry after
 * a lost compare-and-set, the timeout for a hung worker, and the score formula both languages
 * implement.
 */

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function bridgedContext() {
  const token = randomBytes(16).toString("hex");
  const bridged = new BridgedState({ serve: { host: "127.0.0.1", port: 0, token } });
  const ctx = unwrap(await Context.create({ local: LocalState, bridged }));
  cleanups.push(async () => {
    await ctx.close();
    await bridged.close();
  });
  await registerTuningVariables(ctx);
  const worker = unwrap(await ctx.attachWorker({ name: "optimizer" }));
  return { ctx, address: bridged.address!, token, sessionId: worker.sessionId };
}

function startWorker(
  target: { address: string; token: string; sessionId: string },
  config: { trials: number; evalDelayMs: number },
  timeoutMs: number,
  onMessage: (message: WorkerMessage) => void = () => undefined,
) {
  return WorkerProcess.start({
    python: DEFAULT_PYTHON,
    ...target,
    config: { ...config, seed: 7, latencySamples: 5, scoring: SCORING },
    timeoutMs,
    onMessage,
    onOutput: () => undefined,
  }).then((worker) => {
    cleanups.push(() => worker.stop());
    return worker;
  });
}

describe("the optimizer worker", () => {
  it("re-reads and retries when TypeScript wrote a variable during its evaluation", async () => {
    const { ctx, ...target } = await bridgedContext();
    const messages: WorkerMessage[] = [];
    let evaluating: () => void = () => undefined;
    const firstTrialStarted = new Promise<void>((resolve) => {
      evaluating = resolve;
    });
    // Trial 1 reads its snapshot right after the latency line, then evaluates for 600 ms.
    const worker = await startWorker(target, { trials: 1, evalDelayMs: 600 }, 20_000, (m) => {
      messages.push(m);
      if (m.event === "latency") evaluating();
    });
    await firstTrialStarted;
    await delay(150);
    // Same values, new versions: every version the worker read is now stale.
    const before = unwrap(await ctx.getMany(TUNED_VARIABLES));
    for (const name of TUNED_VARIABLES) {
      unwrap(await ctx.set(name, before[name], { metadata: { source: "typescript" } }));
    }
    const summary = await worker.finished;

    const events = messages.map((m) => m.event).filter((e) => e === "conflict" || e === "write");
    expect(events[0]).toBe("conflict");
    expect(events.slice(1).length).toBeGreaterThan(0);
    expect(events.slice(1).every((e) => e === "write")).toBe(true);
    expect(summary).toMatchObject({ conflicts: 1, improvements: 1 });
    const records = unwrap(await ctx.list());
    const written = records.filter((record) => record.source === "python");
    expect(written.length).toBe(summary.writes);
    // Written on top of TypeScript's version 2: expected_version came from the re-read.
    for (const record of written) expect(record.version).toBe(3);
    const values = Object.fromEntries(records.map((r) => [r.name, r.value])) as unknown;
    expect(score(values as TuningValues)).toBeCloseTo(summary.best_score, 12);
  });

  it("never leaves a candidate half-written when a compare-and-set fails midway", async () => {
    const { ctx, ...target } = await bridgedContext();
    let evaluating: () => void = () => undefined;
    const firstTrialStarted = new Promise<void>((resolve) => {
      evaluating = resolve;
    });
    // With seed 7, trial 1 changes max_tokens and system_prompt (in that order of writing).
    const worker = await startWorker(target, { trials: 1, evalDelayMs: 600 }, 20_000, (m) => {
      if (m.event === "latency") evaluating();
    });
    await firstTrialStarted;
    await delay(150);
    // Only the prompt changes meanwhile, to one the candidate cannot beat: the worker's write of
    // max_tokens would still match its snapshot, its write of the prompt cannot.
    const best = `${PROMPT_BASE} Think step by step. Be concise. Cite your sources.`;
    unwrap(await ctx.set("system_prompt", best, { metadata: { source: "typescript" } }));
    const summary = await worker.finished;

    expect(summary).toMatchObject({ conflicts: 1, improvements: 0, writes: 0 });
    const records = unwrap(await ctx.list());
    // All or nothing: the rejected candidate left no trace, max_tokens included.
    expect(records.filter((record) => record.source === "python")).toEqual([]);
    const maxTokens = records.find((record) => record.name === "max_tokens");
    expect(maxTokens).toMatchObject({ value: 256, version: 1 });
  });

  it("is stopped when it does not finish in time, and the run fails", async () => {
    const { address, token, sessionId } = await bridgedContext();
    const worker = await startWorker(
      { address, token, sessionId },
      { trials: 1, evalDelayMs: 60_000 },
      1_500,
    );
    const started = performance.now();
    await expect(worker.finished).rejects.toThrow(/did not finish within 1500 ms/);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(() => process.kill(worker.pid, 0)).toThrow(expect.objectContaining({ code: "ESRCH" }));
  });
});

describe("the score formula", () => {
  it("gives the same number in Python (worker/optimizer.py) as in TypeScript", () => {
    const configs: TuningValues[] = [];
    const fragments = SCORING.promptFragments;
    for (let i = 0; i < 200; i++) {
      configs.push({
        temperature: [0, 2, 0.35][i] ?? (i * 0.37) % 2,
        max_tokens: [16, 4096, 768][i] ?? 16 + ((i * 97) % 4081),
        model: i === 3 ? "unknown-model" : (MODELS[i % MODELS.length] ?? "gpt-4o"),
        system_prompt: [PROMPT_BASE, ...fragments.filter((_, f) => (i >> f) & 1)].join(" "),
      });
    }
    const python = spawnSync(
      DEFAULT_PYTHON,
      [
        "-c",
        "import json, sys; from optimizer import score; " +
          "data = json.load(sys.stdin); print(json.dumps([score(c, data['p']) for c in data['configs']]))",
      ],
      {
        input: JSON.stringify({ configs, p: SCORING }),
        encoding: "utf8",
        env: { ...process.env, PYTHONPATH: `${dirname(WORKER_SCRIPT)}:${PYTHON_CLIENT_PATH}` },
      },
    );
    expect(python.stderr).toBe("");
    const scores = JSON.parse(python.stdout) as number[];
    expect(scores).toHaveLength(configs.length);
    const differences = configs
      .map((config, i) => ({ config, ts: score(config), py: scores[i] ?? Number.NaN }))
      .filter(({ ts, py }) => !(Math.abs(ts - py) < 1e-12));
    expect(differences).toEqual([]);
    // The grid reaches both ends of the range, so the check covers the clamps too.
    const all = configs.map((config) => score(config));
    expect(Math.min(...all)).toBeLessThan(0.5);
    expect(Math.max(...all)).toBeGreaterThan(0.85);
  });
});
