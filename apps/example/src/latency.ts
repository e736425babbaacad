// Times Context.get and Context.set in-process, once on each backend, for the closing table.
import { type Context, unwrap } from "@dspex/state-provider";

/** Measured on a variable of its own, deleted afterwards, so the tuned variables keep their versions. */
export const LATENCY_PROBE = "latency_probe";

export interface Latency {
  readonly getP50Us: number;
  readonly setP50Us: number;
}

export async function measureLatency(ctx: Context, samples = 2_000): Promise<Latency> {
  unwrap(await ctx.register(LATENCY_PROBE, "integer", 0));
  // Warm up first: the first calls pay for JIT compilation, not for the backend.
  for (let i = 0; i < 200; i++) {
    unwrap(await ctx.get(LATENCY_PROBE));
    unwrap(await ctx.set(LATENCY_PROBE, i));
  }
  const gets: number[] = [];
  const sets: number[] = [];
  for (let i = 0; i < samples; i++) {
    let started = performance.now();
    unwrap(await ctx.get(LATENCY_PROBE));
    gets.push(performance.now() - started);
    started = performance.now();
    unwrap(await ctx.set(LATENCY_PROBE, i));
    sets.push(performance.now() - started);
  }
  unwrap(await ctx.delete(LATENCY_PROBE));
  return { getP50Us: median(gets) * 1000, setP50Us: median(sets) * 1000 };
}

function median(values: number[]): number {
  const sorted = values.sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}
