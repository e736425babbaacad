// The closing check of the distributed demo: every variable's history, read back from Redis,
// against every write a client had acknowledged, whichever process and bridge it went through.
import type { HistoryEntry, VersionSummary } from "./protocol.js";

/** A write its client saw succeed: the variable, the version it answered and the write's tag. */
export interface AcknowledgedWrite {
  readonly name: string;
  readonly version: number;
  readonly tag: string;
}

export interface VariableCheck {
  readonly name: string;
  /** Oldest and newest version retained. */
  readonly first: number;
  readonly last: number;
  /** Versions retained. */
  readonly retained: number;
  /** The oldest retained version is the one the switch moved to Redis. */
  readonly startsAtSwitch: boolean;
  /** Every version from `first` to `last`, each once, in order. */
  readonly consecutive: boolean;
  /** Acknowledged writes missing from the history (or found at another version). */
  readonly lost: readonly AcknowledgedWrite[];
  /** Tags found at more than one version: a write applied twice. */
  readonly duplicates: readonly string[];
  /** Versions no client had acknowledged (after the one moved by the switch). */
  readonly unacknowledged: readonly number[];
  /** Acknowledged writes found where they were acknowledged. */
  readonly confirmed: number;
}

export interface HistoryCheck {
  readonly variables: readonly VariableCheck[];
  readonly versions: number;
  readonly acknowledged: number;
  readonly confirmed: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly unacknowledged: number;
  readonly ok: boolean;
}

/**
 * `histories`: each variable's versions, oldest first. `moved`: the versions the switch moved
 * to Redis (a backend's history starts at the records it received). `acknowledged`: every
 * write a client saw succeed after the switch, and before it.
 */
export function checkHistories(
  histories: Readonly<Record<string, readonly HistoryEntry[]>>,
  moved: VersionSummary,
  acknowledged: readonly AcknowledgedWrite[],
): HistoryCheck {
  const variables: VariableCheck[] = [];
  for (const [name, entries] of Object.entries(histories)) {
    const first = entries[0]?.version ?? 0;
    const byVersion = new Map(entries.map((entry) => [entry.version, entry]));
    const mine = acknowledged.filter((write) => write.name === name && write.version >= first);
    const lost = mine.filter((write) => byVersion.get(write.version)?.write !== write.tag);
    const seen = new Map<string, number>();
    for (const entry of entries) {
      if (entry.write !== "") seen.set(entry.write, (seen.get(entry.write) ?? 0) + 1);
    }
    const acknowledgedTags = new Set(mine.map((write) => write.tag));
    variables.push({
      name,
      first,
      last: entries.at(-1)?.version ?? 0,
      retained: entries.length,
      startsAtSwitch: first === moved[name],
      consecutive: entries.length > 0 && entries.every((entry, i) => entry.version === first + i),
      lost,
      duplicates: [...seen].filter(([, count]) => count > 1).map(([tag]) => tag),
      unacknowledged: entries
        .filter((entry) => entry.version > first && !acknowledgedTags.has(entry.write))
        .map((entry) => entry.version),
      confirmed: mine.length - lost.length,
    });
  }
  const total = (pick: (v: VariableCheck) => number) =>
    variables.reduce((sum, variable) => sum + pick(variable), 0);
  const result = {
    variables,
    versions: total((v) => v.retained),
    acknowledged: acknowledged.length,
    confirmed: total((v) => v.confirmed),
    lost: total((v) => v.lost.length),
    duplicates: total((v) => v.duplicates.length),
    unacknowledged: total((v) => v.unacknowledged.length),
  };
  return {
    ...result,
    ok:
      variables.length > 0 &&
      variables.every((v) => v.startsAtSwitch && v.consecutive) &&
      result.confirmed === result.acknowledged &&
      result.lost === 0 &&
      result.duplicates === 0 &&
      result.unacknowledged === 0,
  };
}
