// The pretend DSPy program: four tunable variables and a deterministic score that stands in
// for an LLM evaluation, so the demo runs offline and gives the same numbers every time.
import { type Context, unwrap } from "@dspex/state-provider";

/** The values the program reads at each step. Names are the variable names in the Context. */
export interface TuningValues {
  readonly temperature: number;
  readonly max_tokens: number;
  readonly model: string;
  readonly system_prompt: string;
}

export const TUNED_VARIABLES = ["temperature", "max_tokens", "model", "system_prompt"] as const;

export const MODELS = ["gpt-4o-mini", "gpt-4o", "claude-3-5-haiku", "llama-3.1-8b"] as const;

/** The prompt every candidate starts with; the optimizer appends fragments to it. */
export const PROMPT_BASE = "You are a helpful assistant.";

/**
 * Everything the score depends on, in one place. The Python worker receives this object as
 * JSON (DSPEX_OPTIMIZER_CONFIG), so the two implementations of `score` share their numbers.
 */
export const SCORING = {
  weights: { temperature: 0.3, maxTokens: 0.2, model: 0.3, prompt: 0.2 },
  temperatureOptimum: 0.35,
  maxTokensOptimum: 768,
  modelQuality: {
    "gpt-4o-mini": 0.7,
    "gpt-4o": 0.92,
    "claude-3-5-haiku": 0.8,
    "llama-3.1-8b": 0.55,
  } as Readonly<Record<string, number>>,
  /** Lower-case phrases a good prompt contains (ASCII, so JS and Python lengths agree). */
  promptKeywords: ["step by step", "concise", "cite"],
  /** Prompts longer than this lose points (the model pays for every token). */
  promptIdealLength: 90,
  /** What the optimizer may append to PROMPT_BASE (its search space for the prompt). */
  promptFragments: [
    "Think step by step.",
    "Be concise.",
    "Cite your sources.",
    "Use a friendly tone.",
    "Explain your reasoning in detail.",
    "Answer in English.",
  ],
  promptBase: PROMPT_BASE,
} as const;

export type ScoringParameters = typeof SCORING;

/**
 * The stand-in for "run the program on a dev set and measure accuracy": a weighted sum of four
 * terms in [0, 1]. Duplicated in worker/optimizer.py (`score`) because the optimizer evaluates
 * candidates inside the Python process, as a real DSPy optimizer would; the parameters come
 * from SCORING above, and the demo checks that both languages agree on the worker's best.
 */
export function score(values: TuningValues, p: ScoringParameters = SCORING): number {
  const temperature = 1 - Math.abs(values.temperature - p.temperatureOptimum) / 2;
  const distance = Math.abs(Math.log2(values.max_tokens) - Math.log2(p.maxTokensOptimum));
  const maxTokens = Math.max(0, 1 - distance / 8);
  const model = p.modelQuality[values.model] ?? 0;
  const prompt = values.system_prompt.toLowerCase();
  const hits = p.promptKeywords.filter((keyword) => prompt.includes(keyword)).length;
  const overLength = Math.max(0, prompt.length - p.promptIdealLength) / p.promptIdealLength;
  const promptTerm = Math.max(0, hits / p.promptKeywords.length - 0.5 * overLength);
  return (
    p.weights.temperature * temperature +
    p.weights.maxTokens * maxTokens +
    p.weights.model * model +
    p.weights.prompt * promptTerm
  );
}

/** Registers the four variables with the constraints the optimizer must respect. */
export async function registerTuningVariables(ctx: Context): Promise<void> {
  unwrap(
    await ctx.register("temperature", "float", 0.7, {
      constraints: { min: 0, max: 2 },
      description: "sampling temperature",
    }),
  );
  unwrap(
    await ctx.register("max_tokens", "integer", 256, {
      constraints: { min: 16, max: 4096 },
      description: "completion budget",
    }),
  );
  unwrap(
    await ctx.register("model", "choice", "gpt-4o-mini", {
      constraints: { choices: [...MODELS] },
      description: "which LM the program calls",
    }),
  );
  unwrap(
    await ctx.register("system_prompt", "string", PROMPT_BASE, {
      constraints: { maxLength: 200 },
      description: "the program's system prompt",
    }),
  );
}

/** One read of all four variables (a single getMany, so the step sees one consistent set). */
export async function readTuningValues(ctx: Context): Promise<TuningValues> {
  const values = unwrap(await ctx.getMany(TUNED_VARIABLES));
  return {
    temperature: values.temperature as number,
    max_tokens: values.max_tokens as number,
    model: values.model as string,
    system_prompt: values.system_prompt as string,
  };
}

/** A step of the program: read the variables, "evaluate", answer the score. */
export async function runProgramStep(ctx: Context): Promise<{
  values: TuningValues;
  score: number;
}> {
  const values = await readTuningValues(ctx);
  return { values, score: score(values) };
}

/**
 * Prompt edits an operator makes from TypeScript while the optimizer runs, keyed by the
 * optimizer trial after which they happen. Scripted against the optimizer's progress, not the
 * clock, so they land while it evaluates its next candidate: with the seed in main.ts, the edit
 * after trial 12 races trial 13's write of the prompt, which fails compare-and-set and retries.
 */
export const OPERATOR_PROMPT_EDITS: ReadonlyMap<number, string> = new Map([
  [3, `${PROMPT_BASE} Be concise.`],
  [12, `${PROMPT_BASE} Answer in English. Be concise.`],
  [24, `${PROMPT_BASE} Think step by step. Be concise.`],
]);
