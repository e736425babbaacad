// The closing tables: final values and who changed them, the switch, and the latencies.
import type { ContextInfo, VariableRecord } from "@dspex/state-provider";
import { type ChangeLog, formatValue } from "./changes.js";
import type { Latency } from "./latency.js";
import type { WorkerSummary } from "./worker-process.js";

export interface FinalReport {
  readonly records: readonly VariableRecord[];
  readonly changes: ChangeLog;
  readonly info: ContextInfo;
  readonly finalScore: number;
  readonly worker: WorkerSummary;
  /** The worker's best candidate scored by the TypeScript formula. */
  readonly workerBestScoredInTs: number;
  readonly local: Latency;
  readonly bridged: Latency;
  readonly workerGetP50Us: number;
}

export function printFinalReport(report: FinalReport, print: (line: string) => void): void {
  print("");
  print("Final variables");
  printTable(
    ["variable", "value", "version", "last writer", "changes by source"],
    report.records.map((record) => [
      record.name,
      formatValue(record.value, 100),
      String(record.version),
      record.source,
      report.changes.sourcesOf(record.name),
    ]),
    print,
  );
  const totals = [...report.changes.totalsBySource()].map(([source, n]) => `${source} ${n}`);
  print(`  updates seen by the TypeScript watcher: ${report.changes.total} (${totals.join(", ")})`);
  print(`  final score ${report.finalScore.toFixed(4)}`);

  const { worker } = report;
  const agree = Math.abs(report.workerBestScoredInTs - worker.best_score) < 1e-9;
  print("");
  print("Optimizer");
  print(
    `  ${worker.improvements} improvements, ${worker.writes} compare-and-set writes, ` +
      `${worker.conflicts} version conflict(s) handled by re-reading and retrying`,
  );
  print(
    `  best candidate scored ${worker.best_score.toFixed(4)} in Python and ` +
      `${report.workerBestScoredInTs.toFixed(4)} in TypeScript: ` +
      (agree ? "the two score formulas agree" : "THE SCORE FORMULAS DISAGREE"),
  );

  print("");
  print("Backend switch (ctx.info())");
  for (const attempt of report.info.history) {
    print(
      `  ${attempt.fromBackend} -> ${attempt.toBackend ?? "?"}  ${attempt.ok ? "ok" : `failed at ${attempt.failedStep}`}` +
        `  ${attempt.durationMs.toFixed(2)} ms  ${attempt.variables ?? 0} variables, ` +
        `${attempt.watches} watch  (${attempt.reason})`,
    );
  }
  print(
    `  now ${report.info.kind} on ${report.info.backend}, ${report.info.switches} switch(es), ` +
      `last at ${report.info.lastSwitchAt === undefined ? "-" : new Date(report.info.lastSwitchAt).toISOString()}`,
  );

  print("");
  print("Latency, p50");
  printTable(
    ["operation", "LocalState (in-process)", "BridgedState (in-process)", "Python over gRPC"],
    [
      ["get", us(report.local.getP50Us), us(report.bridged.getP50Us), us(report.workerGetP50Us)],
      ["set", us(report.local.setP50Us), us(report.bridged.setP50Us), "-"],
    ],
    print,
  );
}

function us(value: number): string {
  return `${value < 10 ? value.toFixed(2) : value.toFixed(0)} us`;
}

/** A plain-text table with aligned columns; a column of numbers only is right-aligned. */
export function printTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  print: (line: string) => void,
): void {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const numeric = headers.map((_, column) =>
    rows.every((row) => /^[\d.]+( us)?$|^-$/.test(row[column] ?? "")),
  );
  const line = (cells: readonly string[]) =>
    `  ${cells
      .map((cell, column) => {
        const width = widths[column] ?? 0;
        return numeric[column] ? cell.padStart(width) : cell.padEnd(width);
      })
      .join("  ")
      .trimEnd()}`;
  print(line(headers));
  print(`  ${widths.map((width) => "-".repeat(width)).join("  ")}`);
  for (const row of rows) print(line(row));
}
