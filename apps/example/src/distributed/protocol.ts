// What the distributed demo's processes tell each other: the program's stdout lines, the tag
// every write carries, and the names the history check reads.
import { TUNED_VARIABLES, type TuningValues } from "../program.js";

/** The program's own progress, kept in the session: a restarted program resumes after it. */
export const PROGRAM_STEP = "program_step";

/** The variables whose changes the program relays as `change` lines. */
export const TRACKED_VARIABLES = TUNED_VARIABLES;

/** How often the program runs a step while the workers tune. */
export const STEP_INTERVAL_MS = 200;

/** variable name -> version. */
export type VersionSummary = Readonly<Record<string, number>>;

/** One version of a variable as the history check reads it, oldest first. */
export interface HistoryEntry {
  readonly version: number;
  /** The `write` tag of the write that made this version ("" for a registration). */
  readonly write: string;
  readonly source: string;
}

/**
 * Metadata `write` of every write in the distributed demo: who wrote, and at which of its
 * steps. Unique per writer and step, so a write found twice in a history was applied twice.
 */
export function writeTag(writer: string, step: number, unit = "step"): string {
  return `${writer}/${unit}-${step}`;
}

/** The tag a worker's writes carry (see worker/optimizer.py, `write_improvement`). */
export const workerWriteTag = (worker: string, trial: number) => writeTag(worker, trial, "trial");

export type ProgramMessage =
  | { event: "ready"; pid: number }
  | { event: "step"; step: number; backend: string; score: number; values: TuningValues }
  | { event: "write"; name: string; version: number; tag: string }
  | {
      event: "switched";
      sessionId: string;
      from: string;
      to: string;
      durationMs: number;
      watches: number;
      versions: VersionSummary;
    }
  | {
      event: "reattached";
      sessionId: string;
      backend: string;
      step: number;
      versions: VersionSummary;
    }
  | {
      event: "change";
      name: string;
      previousValue: unknown;
      value: unknown;
      version: number;
      source: string;
      write: string;
    }
  | { event: "history"; variables: Readonly<Record<string, readonly HistoryEntry[]>> }
  | { event: "done"; step: number }
  | { event: "error"; message: string };
