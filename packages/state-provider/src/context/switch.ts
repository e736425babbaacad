import type { InitOptions, SubscriptionId } from "../contract.js";
import { type StateError, StateErrors } from "../errors.js";
import type { ExportedState } from "../export-format.js";
import { err, ok, type Result } from "../result.js";
import { type AnyProvider, BackendSlot } from "./backend-slot.js";
import type { BackendKind, SwitchStep } from "./types.js";
import { forwarder, type WatchEntry } from "./watch-entry.js";

export interface SwitchPlan {
  readonly from: BackendSlot;
  readonly to: AnyProvider;
  readonly toKind: BackendKind;
  readonly init: InitOptions;
  readonly watches: readonly WatchEntry[];
}

/** A new backend holding a verified copy of the session, with every watch subscribed on it. */
export interface PreparedSwitch {
  readonly slot: BackendSlot;
  readonly variables: number;
  readonly subscriptions: ReadonlyMap<WatchEntry, SubscriptionId>;
}

export interface SwitchFailure {
  readonly step: SwitchStep;
  readonly error: StateError;
  readonly variables: number | undefined;
}

/**
 * Everything of a switch up to the swap: init the new backend with the same session id,
 * export from the old one, import, verify the copy, subscribe the watches. Only reads the old
 * backend, so on any failure the old one is untouched; the half-made new one is cleaned up.
 */
export async function prepareSwitch(
  plan: SwitchPlan,
): Promise<Result<PreparedSwitch, SwitchFailure>> {
  const { from, to, watches } = plan;
  if (watches.length > 0 && (to.subscribe === undefined || to.unsubscribe === undefined)) {
    const what = `watch (${watches.length} live watch(es) would be lost)`;
    return err({
      step: "subscribe",
      error: StateErrors.unsupported(what, to.name),
      variables: undefined,
    });
  }
  const init = await guarded(to, "init", () => to.init(plan.init));
  if (!init.ok) return err({ step: "init", error: init.error, variables: undefined });
  const slot = new BackendSlot(plan.toKind, to, init.value);
  const abandon = async (step: SwitchStep, error: StateError, variables: number | undefined) => {
    await slot.release();
    return err({ step, error, variables });
  };

  const exported = await from.track((old) =>
    guarded(old.provider, "exportState", () => old.provider.exportState(old.state)),
  );
  if (!exported.ok) return abandon("export", exported.error, undefined);
  const document = exported.value;
  const variables = Object.keys(document.variables).length;

  const imported = await guarded(to, "importState", () => to.importState(slot.state, document));
  if (!imported.ok) return abandon("import", imported.error, variables);
  slot.state = imported.value.state;

  const verified = await verifyCopy(slot, document);
  if (!verified.ok) return abandon("verify", verified.error, variables);

  const subscriptions = new Map<WatchEntry, SubscriptionId>();
  for (const entry of watches) {
    const subscribe = to.subscribe!.bind(to);
    const subscribed = await guarded(to, "subscribe", () =>
      subscribe(slot.state, entry.pattern, forwarder(entry, slot)),
    );
    if (!subscribed.ok) return abandon("subscribe", subscribed.error, variables);
    subscriptions.set(entry, subscribed.value);
  }
  return ok({ slot, variables, subscriptions });
}

/**
 * The new backend must hold exactly the exported variables: same ids, names, types and
 * versions, and no others. Values were validated by the import itself (`parseExport`).
 */
async function verifyCopy(slot: BackendSlot, document: ExportedState): Promise<Result<undefined>> {
  const { provider } = slot;
  const listed = await guarded(provider, "listVariables", () => provider.listVariables(slot.state));
  if (!listed.ok) return listed;
  const expected = Object.keys(document.variables).length;
  if (listed.value.length !== expected) {
    const detail = `${provider.name} holds ${listed.value.length} variable(s) after import, the export has ${expected}`;
    return err(StateErrors.invalidExport("variables", detail));
  }
  for (const record of listed.value) {
    const at = `variables.${record.id}`;
    const source = document.variables[record.id];
    if (source === undefined) {
      return err(
        StateErrors.invalidExport(
          at,
          `${provider.name} holds id ${JSON.stringify(record.id)} after import, the export does not`,
        ),
      );
    }
    for (const field of ["name", "type", "version"] as const) {
      if (record[field] !== source[field]) {
        const detail = `${provider.name} holds ${field} ${JSON.stringify(record[field])} after import, the export has ${JSON.stringify(source[field])}`;
        return err(StateErrors.invalidExport(`${at}.${field}`, detail));
      }
    }
  }
  return ok();
}

/** A backend that throws during a switch fails the switch (and is rolled back) rather than escaping it. */
export async function guarded<T>(
  provider: AnyProvider,
  operation: string,
  call: () => Promise<Result<T>>,
): Promise<Result<T>> {
  try {
    return await call();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return err(StateErrors.unavailable(`${provider.name}.${operation} threw: ${message}`));
  }
}
