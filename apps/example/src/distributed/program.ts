// The TypeScript program of the distributed demo, run as its own process so the demo can
// SIGKILL it and start it again. First start: a Context on LocalState, the tuned variables, one
// local step, then `require({ persistence, distribution })` moves the session to Redis. Restart
// (DSPEX_SESSION_ID set): the Context starts on Redis, reattached to that session, and the
// program goes on from the step and the versions stored there.
//
// Input: DSPEX_REDIS_URL, DSPEX_SESSION_ID (restart only). Output: one JSON object per line on
// stdout (ProgramMessage). stdin: "finish" ends the run (the history is read back and printed);
// EOF means the parent is gone, and the program exits.
import { LocalState } from "@dspex/local-state";
import { RedisState } from "@dspex/redis-state";
import {
  Context,
  type Metadata,
  type StateNeeds,
  unwrap,
  type VariableEvent,
} from "@dspex/state-provider";
import { PROMPT_BASE, readTuningValues, registerTuningVariables, score } from "../program.js";
import {
  PROGRAM_STEP,
  type ProgramMessage,
  STEP_INTERVAL_MS,
  TRACKED_VARIABLES,
  type VersionSummary,
  writeTag,
} from "./protocol.js";

/** What the program declares once it must outlive a crash and be shared across machines. */
const DURABLE: StateNeeds = { persistence: true, distribution: true };

/** Prompt edits an operator makes from TypeScript, by program step: plain sets, the person wins. */
const OPERATOR_EDITS: ReadonlyMap<number, string> = new Map([
  [4, `${PROMPT_BASE} Be concise.`],
  [9, `${PROMPT_BASE} Answer in English. Be concise.`],
  [14, `${PROMPT_BASE} Think step by step. Be concise.`],
]);

const emit = (message: ProgramMessage) => process.stdout.write(`${JSON.stringify(message)}\n`);

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function openContext(redisUrl: string, sessionId: string | undefined) {
  const redis = () => new RedisState({ url: redisUrl, timeoutMs: 3_000 });
  if (sessionId === undefined) {
    return unwrap(
      await Context.create({
        local: LocalState,
        backends: [redis],
        metadata: { app: "dspex-example-distributed" },
      }),
    );
  }
  // Needs declared up front: the Context starts on the backend that meets them, on the stored
  // session, and LocalState is never touched.
  return unwrap(
    await Context.create({ local: LocalState, backends: [redis], needs: DURABLE, sessionId }),
  );
}

async function versions(ctx: Context): Promise<VersionSummary> {
  const records = unwrap(await ctx.list());
  return Object.fromEntries(records.map((record) => [record.name, record.version]));
}

/** A write the caller has had acknowledged: reported so the demo can find it in the history. */
async function write(
  ctx: Context,
  name: string,
  value: unknown,
  step: number,
  expectedVersion?: number,
): Promise<number> {
  const metadata: Metadata = {
    source: "typescript",
    step: String(step),
    write: writeTag("program", step),
  };
  const version = unwrap(
    await ctx.set(name, value, {
      metadata,
      ...(expectedVersion === undefined ? {} : { expectedVersion }),
    }),
  );
  emit({ event: "write", name, version, tag: metadata.write! });
  return version;
}

/** One step: read the tuned values, score them, record the step (compare-and-set on its own counter). */
async function runStep(ctx: Context, step: number, stepVersion: number): Promise<number> {
  const edit = OPERATOR_EDITS.get(step);
  if (edit !== undefined) await write(ctx, "system_prompt", edit, step);
  const values = await readTuningValues(ctx);
  const version = await write(ctx, PROGRAM_STEP, step, step, stepVersion);
  emit({ event: "step", step, backend: ctx.info().backend, score: score(values), values });
  return version;
}

function relayChange(event: VariableEvent): void {
  if (event.kind !== "updated" || !(TRACKED_VARIABLES as readonly string[]).includes(event.name))
    return;
  emit({
    event: "change",
    name: event.name,
    previousValue: event.previousValue,
    value: event.value,
    version: event.version,
    source: event.source ?? "",
    write: event.metadata?.write ?? "",
  });
}

async function readHistory(ctx: Context): Promise<void> {
  const variables: Record<string, { version: number; write: string; source: string }[]> = {};
  for (const record of unwrap(await ctx.list())) {
    const history = unwrap(await ctx.history(record.name));
    // Newest first from the backend; oldest first here, as the check reads it.
    variables[record.name] = [...history]
      .reverse()
      .map((v) => ({ version: v.version, write: v.metadata.write ?? "", source: v.source }));
  }
  emit({ event: "history", variables });
}

async function main(): Promise<void> {
  const redisUrl = process.env.DSPEX_REDIS_URL;
  if (redisUrl === undefined) throw new Error("DSPEX_REDIS_URL is not set");
  const restartOf = process.env.DSPEX_SESSION_ID || undefined;
  // The parent decides when this process stops (SIGTERM, "finish", or SIGKILL for the demo);
  // Ctrl-C in a terminal reaches the whole group and is the parent's to handle.
  process.on("SIGINT", () => {});
  let finishing = false;
  process.stdin.setEncoding("utf8").on("data", (chunk: string) => {
    if (chunk.includes("finish")) finishing = true;
  });
  process.stdin.on("end", () => process.exit(1));

  emit({ event: "ready", pid: process.pid });
  const ctx = await openContext(redisUrl, restartOf);
  process.on("SIGTERM", () => void ctx.close().finally(() => process.exit(143)));
  let step: number;
  let stepVersion: number;
  if (restartOf === undefined) {
    await registerTuningVariables(ctx);
    unwrap(
      await ctx.register(PROGRAM_STEP, "integer", 0, {
        constraints: { min: 0 },
        description: "the last step the program completed (where a restarted program resumes)",
      }),
    );
    unwrap(await ctx.watch("*", relayChange));
    // Step 1 on LocalState: a developer tries a bigger budget by hand.
    await write(ctx, "max_tokens", 512, 1);
    stepVersion = await runStep(ctx, 1, 1);
    step = 1;
    const switched = unwrap(await ctx.require(DURABLE));
    emit({
      event: "switched",
      sessionId: ctx.sessionId,
      from: switched?.fromBackend ?? ctx.info().backend,
      to: switched?.toBackend ?? ctx.info().backend,
      durationMs: switched?.durationMs ?? 0,
      watches: switched?.watches ?? 0,
      versions: await versions(ctx),
    });
  } else {
    const stored = unwrap(await ctx.getRecord(PROGRAM_STEP));
    step = stored.value as number;
    stepVersion = stored.version;
    unwrap(await ctx.watch("*", relayChange));
    emit({
      event: "reattached",
      sessionId: ctx.sessionId,
      backend: ctx.info().backend,
      step,
      versions: await versions(ctx),
    });
  }

  while (!finishing) {
    await delay(STEP_INTERVAL_MS);
    step += 1;
    stepVersion = await runStep(ctx, step, stepVersion);
  }
  await readHistory(ctx);
  await ctx.close();
  emit({ event: "done", step });
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    emit({ event: "error", message: error.message });
    process.exit(1);
  },
);
