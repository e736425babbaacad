export interface Goal {
  /** What was measured, as the performance issue names it. */
  readonly operation: string;
  /** The figure measured, with its unit. */
  readonly measured: string;
  /** What it is compared with, in the same run. */
  readonly baseline: string;
  /** measured / baseline, or the figure itself for an absolute goal. */
  readonly ratio: string;
  readonly goal: string;
  /** null: a figure reported, not a goal. */
  readonly met: boolean | null;
}
export function reportGoals(packageDir: string, file: string, goals: readonly Goal[]): void;
