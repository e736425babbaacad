import type { Capabilities, StateProvider } from "./contract.js";

/** The callbacks every provider must have (the spec's required callbacks, plus `getVariableRecord`). */
export const REQUIRED_CALLBACKS = [
  "init",
  "registerVariable",
  "getVariable",
  "getVariableRecord",
  "setVariable",
  "listVariables",
  "getVariables",
  "updateVariables",
  "deleteVariable",
  "exportState",
  "importState",
  "requiresBridge",
  "capabilities",
  "cleanup",
] as const;

/** Optional, but if one is present both must be, and both must be functions. */
export const OPTIONAL_CALLBACKS = ["subscribe", "unsubscribe"] as const;

/** Optional on its own; gated by `capabilities().history`. */
export const HISTORY_CALLBACK = "getVariableHistory" as const;

/** The capability flags every provider must report as booleans. */
export const CAPABILITY_FLAGS = [
  "atomicUpdates",
  "streaming",
  "persistence",
  "distribution",
  "compareAndSet",
  "history",
] as const satisfies readonly (keyof Capabilities)[];

function problemsOf(candidate: unknown): string[] {
  if (typeof candidate !== "object" || candidate === null) {
    return [`expected an object, got ${candidate === null ? "null" : typeof candidate}`];
  }
  const record = candidate as Record<string, unknown>;
  const problems: string[] = [];
  for (const name of REQUIRED_CALLBACKS) {
    if (!(name in record)) problems.push(`missing ${name}`);
    else if (typeof record[name] !== "function")
      problems.push(`${name} is not a function (${typeof record[name]})`);
  }
  const optional = OPTIONAL_CALLBACKS.filter((name) => record[name] !== undefined);
  for (const name of optional) {
    if (typeof record[name] !== "function")
      problems.push(`${name} is not a function (${typeof record[name]})`);
  }
  const history = record[HISTORY_CALLBACK];
  if (history !== undefined && typeof history !== "function")
    problems.push(`${HISTORY_CALLBACK} is not a function (${typeof history})`);
  if (optional.length === 1) {
    const missing = OPTIONAL_CALLBACKS.find((name) => !optional.includes(name));
    problems.push(`${optional[0]} is present without ${missing}`);
  }
  return problems;
}

/** True when `candidate` has every required callback (and subscribe/unsubscribe together, if any). */
export function isProvider(candidate: unknown): candidate is StateProvider {
  return problemsOf(candidate).length === 0;
}

/**
 * Throws a TypeError naming every missing or malformed callback (not only the first) and any
 * capability flag that is not a boolean. A programmer error, hence an exception.
 */
export function validateProvider(candidate: unknown): asserts candidate is StateProvider {
  const problems = problemsOf(candidate);
  if (problems.length === 0) {
    const capabilities = (candidate as StateProvider).capabilities() as unknown;
    if (typeof capabilities !== "object" || capabilities === null) {
      problems.push("capabilities() must return an object");
    } else {
      for (const flag of CAPABILITY_FLAGS) {
        const value = (capabilities as Record<string, unknown>)[flag];
        if (typeof value !== "boolean")
          problems.push(`capabilities().${flag} must be a boolean, got ${typeof value}`);
      }
      if (
        (capabilities as Capabilities).history === true &&
        typeof (candidate as StateProvider).getVariableHistory !== "function"
      )
        problems.push(`capabilities().history is true but ${HISTORY_CALLBACK} is missing`);
    }
    if (typeof (candidate as StateProvider).requiresBridge() !== "boolean") {
      problems.push("requiresBridge() must return a boolean");
    }
  }
  if (problems.length > 0) {
    const name = nameOf(candidate);
    throw new TypeError(`${name} is not a valid StateProvider: ${problems.join("; ")}`);
  }
}

/** The provider's capabilities. Throws a TypeError when `candidate` is not a provider. */
export function getCapabilities(candidate: unknown): Capabilities {
  if (!isProvider(candidate)) {
    throw new TypeError(
      `${nameOf(candidate)} is not a StateProvider: ${problemsOf(candidate).join("; ")}`,
    );
  }
  return candidate.capabilities();
}

function nameOf(candidate: unknown): string {
  if (typeof candidate === "object" && candidate !== null) {
    const name = (candidate as { name?: unknown }).name;
    if (typeof name === "string" && name !== "") return name;
    return "object";
  }
  return String(candidate);
}
