import type { StateProvider } from "../../src/index.js";
import type { MemoryProvider, MemorySession } from "./memory-provider.js";

export type MemoryOverrides = Partial<
  Omit<StateProvider<MemorySession>, "name" | "contractVersion">
>;

/**
 * A provider that behaves like `base` except for the calls in `overrides`: how the tests build
 * backends that fail at one step of a switch while still holding real state.
 */
export function withOverrides(
  base: MemoryProvider,
  overrides: MemoryOverrides,
): StateProvider<MemorySession> {
  return {
    name: base.name,
    contractVersion: base.contractVersion,
    init: (options) => base.init(options),
    registerVariable: (state, name, type, value, options) =>
      base.registerVariable(state, name, type, value, options),
    getVariable: (state, identifier) => base.getVariable(state, identifier),
    getVariableRecord: (state, identifier) => base.getVariableRecord(state, identifier),
    setVariable: (state, identifier, value, metadata, options) =>
      base.setVariable(state, identifier, value, metadata, options),
    listVariables: (state) => base.listVariables(state),
    getVariables: (state, identifiers) => base.getVariables(state, identifiers),
    updateVariables: (state, updates, metadata, options) =>
      base.updateVariables(state, updates, metadata, options),
    deleteVariable: (state, identifier) => base.deleteVariable(state, identifier),
    exportState: (state) => base.exportState(state),
    importState: (state, exported) => base.importState(state, exported),
    requiresBridge: () => base.requiresBridge(),
    capabilities: () => base.capabilities(),
    cleanup: (state) => base.cleanup(state),
    subscribe: (state, pattern, subscriber) => base.subscribe(state, pattern, subscriber),
    unsubscribe: (state, subscription) => base.unsubscribe(state, subscription),
    getVariableHistory: (state, identifier, options) =>
      base.getVariableHistory(state, identifier, options),
    ...overrides,
  };
}

/** A promise with its resolver outside, to hold a backend call until the test lets it go. */
export function gate(): { readonly opened: Promise<void>; open(): void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}
