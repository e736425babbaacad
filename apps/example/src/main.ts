// The DSPex reference app. A TypeScript program tunes four variables on in-process state; a
// Python optimizer joins, the Context moves the session to the gRPC bridge with nothing lost,
// and both sides write the same variables while TypeScript watches. README.md walks through it.
import { randomBytes } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { BridgedState } from "@dspex/bridged-state";
import { LocalState } from "@dspex/local-state";
import { Context, type Result, unwrap } from "@dspex/state-provider";
import { ChangeLog, formatValue } from "./changes.js";
import { measureLatency } from "./latency.js";
import {
  OPERATOR_PROMPT_EDITS,
  readTuningValues,
  registerTuningVariables,
  runProgramStep,
  SCORING,
  score,
  type TuningValues,
} from "./program.js";
import { printFinalReport } from "./report.js";
import { Shutdown } from "./shutdown.js";
import {
  checkPythonDependencies,
  DEFAULT_PYTHON,
  type OptimizerConfig,
  type WorkerMessage,
  WorkerProcess,
  type WorkerSummary,
} from "./worker-process.js";

const LOCAL_STEPS = 3;
const STEP_INTERVAL_MS = 250;
/** Into the optimizer's 50 ms evaluation of its next candidate (see editPromptSoon). */
const OPERATOR_EDIT_DELAY_MS = 20;
const OPTIMIZER: OptimizerConfig = {
  trials: 40,
  seed: 7,
  evalDelayMs: 50,
  latencySamples: 300,
  scoring: SCORING,
};
/** Far above a normal run (about 3 s): only a hung worker hits it. */
const WORKER_TIMEOUT_MS = 20_000;
/** DSPEX_PYTHON overrides the interpreter (the tests use it to check the missing-Python message). */
const PYTHON = process.env.DSPEX_PYTHON ?? DEFAULT_PYTHON;

const print = (line: string) => console.log(line);

async function runDemo(shutdown: Shutdown): Promise<number> {
  const started = performance.now();
  const missing = checkPythonDependencies(PYTHON);
  if (missing !== undefined) {
    console.error(missing);
    return 1;
  }
  print("DSPex example: a program tuned from TypeScript and from a Python optimizer\n");

  print("1. Local state: the program runs in-process");
  const { ctx, bridged, token } = await openContext(shutdown);
  await registerTuningVariables(ctx);
  const changes = new ChangeLog(print);
  // Registered now, on LocalState; the Context carries the watch across the switch.
  unwrap(await ctx.watch("*", changes.record));
  await runLocalSteps(ctx);
  const localLatency = await measureLatency(ctx);

  print("\n2. A Python worker joins: the Context switches to the bridge");
  const sessionId = await switchToBridge(ctx, bridged, token);
  const bridgedLatency = await measureLatency(ctx);
  const optimizer = await runOptimizer(ctx, shutdown, {
    address: bridged.address!,
    token,
    sessionId,
  });

  print("\n3. Result");
  printFinalReport(
    {
      records: unwrap(await ctx.list()),
      changes,
      info: ctx.info(),
      finalScore: score(await readTuningValues(ctx)),
      worker: optimizer.summary,
      workerBestScoredInTs: score(optimizer.summary.best),
      local: localLatency,
      bridged: bridgedLatency,
      workerGetP50Us: optimizer.getP50Us,
    },
    print,
  );
  if (process.argv.includes("--hold")) {
    // Keeps the bridge (and its inspector) up so the run's history can be browsed; Ctrl-C
    // runs the usual shutdown.
    print("\nHolding the bridge open for the inspector; Ctrl-C stops it.");
    await new Promise<never>(() => {});
  }
  print(
    `\nDone in ${((performance.now() - started) / 1000).toFixed(1)} s; stopping the worker and the server.`,
  );
  return 0;
}

/** Starts the bridge server, then declares the worker: the Context moves to BridgedState. */
async function switchToBridge(ctx: Context, bridged: BridgedState, token: string): Promise<string> {
  // The first switch would start the server by itself; started apart, its one-time cost
  // (loading the proto, binding) does not hide how cheap the switch is.
  const serving = performance.now();
  await bridged.serve();
  print(
    `  bridge server listening on ${bridged.address} (started in ${(performance.now() - serving).toFixed(1)} ms)`,
  );
  // The read-only inspector page: the session's variables live and a chart per numeric one.
  print(`  inspector on ${bridged.server!.inspector!.url}?token=${token}`);
  const attached = unwrap(await ctx.attachWorker({ name: "optimizer" }));
  // The switch record says what moved and how long the program's writes were held for it.
  const switched = ctx.info().history.at(-1)!;
  print(
    `  switched ${switched.fromBackend} -> ${switched.toBackend} in ${switched.durationMs.toFixed(2)} ms ` +
      `(${switched.variables} variables, ${switched.watches} watch moved)`,
  );
  print(`  session ${attached.sessionId} is open to workers (bearer token required)`);
  return attached.sessionId;
}

/**
 * Runs the Python optimizer to the end while the program keeps stepping and the operator edits
 * the prompt; answers the worker's summary and its gRPC get latency.
 */
async function runOptimizer(
  ctx: Context,
  shutdown: Shutdown,
  session: { address: string; token: string; sessionId: string },
): Promise<{ summary: WorkerSummary; getP50Us: number }> {
  let getP50Us = Number.NaN;
  const operatorEdits: Promise<Result<number>>[] = [];
  const worker = await WorkerProcess.start({
    python: PYTHON,
    ...session,
    config: OPTIMIZER,
    timeoutMs: WORKER_TIMEOUT_MS,
    onMessage: (message) => {
      if (message.event === "latency") getP50Us = message.get_p50_us;
      if (message.event === "trial") {
        const edit = OPERATOR_PROMPT_EDITS.get(message.trial);
        if (edit !== undefined) operatorEdits.push(editPromptSoon(ctx, edit));
      }
      relayProgress(message);
    },
    onOutput: (line) => print(`  optimizer says: ${line}`),
  });
  shutdown.defer("optimizer worker", () => worker.stop());
  print(`  optimizer worker started (pid ${worker.pid})`);
  const [summary] = await Promise.all([worker.finished, runStepsWhile(ctx, worker.finished)]);
  for (const edit of await Promise.all(operatorEdits)) unwrap(edit);
  return { summary, getP50Us };
}

/**
 * A Context on LocalState that will switch to a BridgedState. The bridge server binds
 * 127.0.0.1 on an ephemeral port (when `serve()` or the first switch starts it), and every call
 * must carry a bearer token made for this run: other local users cannot reach the session.
 */
async function openContext(shutdown: Shutdown) {
  const token = randomBytes(24).toString("base64url");
  const bridged = new BridgedState({
    serve: { host: "127.0.0.1", port: 0, token, shutdownTimeoutMs: 1_000, inspect: { port: 0 } },
  });
  // ctx.close() releases the session but not the server; the server goes last.
  shutdown.defer("bridge server", () => bridged.close());
  const ctx = unwrap(
    await Context.create({ local: LocalState, bridged, metadata: { app: "dspex-example" } }),
  );
  shutdown.defer("context", () => ctx.close());
  return { ctx, bridged, token };
}

/** The first steps, before any Python: a developer also tries a bigger token budget by hand. */
async function runLocalSteps(ctx: Context): Promise<void> {
  for (let step = 1; step <= LOCAL_STEPS; step++) {
    if (step === 2) {
      unwrap(await ctx.set("max_tokens", 512, { metadata: { source: "typescript" } }));
    }
    printStep(step, ctx, await runProgramStep(ctx));
  }
}

/** Keeps the program stepping on the bridged state, every STEP_INTERVAL_MS, while the optimizer works. */
async function runStepsWhile(ctx: Context, optimizing: Promise<unknown>): Promise<void> {
  let running = true;
  const stopped = optimizing.then(
    () => {
      running = false;
    },
    () => {
      running = false;
    },
  );
  for (let step = LOCAL_STEPS + 1; ; step++) {
    await Promise.race([delay(STEP_INTERVAL_MS), stopped]);
    if (!running) return;
    printStep(step, ctx, await runProgramStep(ctx));
  }
}

/**
 * An operator's prompt edit, made a moment after the optimizer reported a trial: by then the
 * worker has read the versions for its next candidate and is evaluating it. A plain set, not
 * compare-and-set: the person's edit wins, and the optimizer adapts to it.
 */
function editPromptSoon(ctx: Context, prompt: string): Promise<Result<number>> {
  return delay(OPERATOR_EDIT_DELAY_MS).then(() =>
    ctx.set("system_prompt", prompt, { metadata: { source: "typescript" } }),
  );
}

function printStep(step: number, ctx: Context, run: { values: TuningValues; score: number }) {
  const { values } = run;
  print(
    `  step ${String(step).padStart(2)} [${ctx.kind.padEnd(7)}] score ${run.score.toFixed(4)}` +
      `  temperature=${formatValue(values.temperature)} max_tokens=${values.max_tokens}` +
      ` model=${values.model} prompt=${values.system_prompt.length} chars`,
  );
}

/** Turns the worker's JSON lines into progress lines; the watcher prints the changes themselves. */
function relayProgress(message: WorkerMessage): void {
  switch (message.event) {
    case "latency":
      print(
        `  optimizer: connected, GetVariable p50 ${message.get_p50_us.toFixed(0)} us over gRPC`,
      );
      break;
    case "trial":
      if (message.trial % 5 === 0 || message.trial === message.trials) {
        print(
          `  optimizer: trial ${message.trial}/${message.trials} best score ${message.best.toFixed(4)}`,
        );
      }
      break;
    case "conflict":
      print(
        `  optimizer: trial ${message.trial} compare-and-set conflict (${message.message}); re-reading and retrying`,
      );
      break;
    case "error":
      print(`  optimizer error: ${message.message}`);
      break;
    default:
      break;
  }
}

async function main(): Promise<void> {
  const shutdown = new Shutdown();
  shutdown.exitOnSignals(print);
  let code = 1;
  try {
    code = await runDemo(shutdown);
  } catch (error) {
    // After Ctrl-C the teardown makes pending calls fail; the signal handler owns the exit.
    if (shutdown.interrupted === undefined)
      console.error(`\ndemo failed: ${(error as Error).message}`);
  }
  await shutdown.run();
  if (shutdown.interrupted === undefined) process.exitCode = code;
}

await main();
