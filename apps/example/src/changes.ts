// What the TypeScript watcher sees: every committed change, printed as it happens and counted
// per variable and writer for the closing table.
import type { VariableEvent } from "@dspex/state-provider";
import { LATENCY_PROBE } from "./latency.js";

export class ChangeLog {
  /** variable name -> source -> number of updates. */
  readonly #counts = new Map<string, Map<string, number>>();
  #total = 0;

  constructor(private readonly print: (line: string) => void) {}

  /** The watch callback. Runs after each commit, in commit order, on either backend. */
  readonly record = (event: VariableEvent): void => {
    // The latency probe is written thousands of times; it is measurement, not tuning.
    if (event.name === LATENCY_PROBE || event.kind !== "updated") return;
    this.#total++;
    const bySource = this.#counts.get(event.name) ?? new Map<string, number>();
    bySource.set(event.source, (bySource.get(event.source) ?? 0) + 1);
    this.#counts.set(event.name, bySource);
    // Metadata merges across writes, so a trial number only belongs to a Python write.
    const trial =
      event.source === "python" && event.metadata.trial !== undefined
        ? ` (trial ${event.metadata.trial})`
        : "";
    this.print(
      `  change  ${event.name.padEnd(13)} ${formatValue(event.previousValue, 100)} -> ${formatValue(event.value, 100)}` +
        `  v${event.version}  source=${event.source}${trial}`,
    );
  };

  get total(): number {
    return this.#total;
  }

  /** How many updates `source` made to `name`. */
  count(name: string, source: string): number {
    return this.#counts.get(name)?.get(source) ?? 0;
  }

  /** Every source that wrote to `name`, e.g. `python 5, typescript 2`. */
  sourcesOf(name: string): string {
    const bySource = this.#counts.get(name);
    if (bySource === undefined) return "-";
    return [...bySource]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([source, count]) => `${source} ${count}`)
      .join(", ");
  }

  /** source -> total updates, over every variable. */
  totalsBySource(): Map<string, number> {
    const totals = new Map<string, number>();
    for (const bySource of this.#counts.values()) {
      for (const [source, count] of bySource) totals.set(source, (totals.get(source) ?? 0) + count);
    }
    return totals;
  }
}

/** Short, unambiguous rendering: strings quoted and cut, floats with at most 3 decimals. */
export function formatValue(value: unknown, width = 44): string {
  if (typeof value === "string") {
    const quoted = JSON.stringify(value);
    return quoted.length <= width ? quoted : `${quoted.slice(0, width - 4)}..."`;
  }
  if (typeof value === "number" && !Number.isInteger(value))
    return String(Number(value.toFixed(3)));
  return String(value);
}
