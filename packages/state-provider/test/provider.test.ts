import { describe, expect, it } from "vitest";
import { getCapabilities, isProvider, REQUIRED_CALLBACKS, validateProvider } from "../src/index.js";

const capabilities = {
  atomicUpdates: true,
  streaming: false,
  persistence: false,
  distribution: false,
  compareAndSet: true,
  history: false,
};

function completeProvider(): Record<string, unknown> {
  const provider: Record<string, unknown> = { name: "Fake", contractVersion: "1.0.0" };
  for (const name of REQUIRED_CALLBACKS)
    provider[name] = async () => ({ ok: true, value: undefined });
  provider.capabilities = () => capabilities;
  provider.requiresBridge = () => false;
  return provider;
}

describe("provider helpers", () => {
  it("isProvider accepts a complete provider and rejects anything short of one", () => {
    expect(isProvider(completeProvider())).toBe(true);
    const missing = completeProvider();
    delete missing.exportState;
    expect(isProvider(missing)).toBe(false);
    expect(isProvider(null)).toBe(false);
    expect(isProvider("LocalState")).toBe(false);
  });

  it("validateProvider names every missing or non-function callback, not only the first", () => {
    const broken = completeProvider();
    delete broken.init;
    delete broken.cleanup;
    broken.getVariables = "nope";
    broken.subscribe = async () => ({ ok: true });
    expect(() => validateProvider(broken)).toThrow(TypeError);
    try {
      validateProvider(broken);
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain("Fake is not a valid StateProvider");
      expect(message).toContain("missing init");
      expect(message).toContain("missing cleanup");
      expect(message).toContain("getVariables is not a function (string)");
      expect(message).toContain("subscribe is present without unsubscribe");
    }
  });

  it("validateProvider checks that every capability flag is a boolean", () => {
    const provider = completeProvider();
    provider.capabilities = () => ({ atomicUpdates: "yes" });
    expect(() => validateProvider(provider)).toThrow(
      /capabilities\(\)\.atomicUpdates must be a boolean.*capabilities\(\)\.streaming/,
    );
  });

  it("validateProvider passes a complete provider", () => {
    expect(() => validateProvider(completeProvider())).not.toThrow();
  });

  it("getCapabilities returns the flags and throws for a non-provider", () => {
    expect(getCapabilities(completeProvider())).toEqual(capabilities);
    expect(() => getCapabilities({ name: "Half" })).toThrow(
      /Half is not a StateProvider: missing init/,
    );
  });
});

describe("error messages quote identifiers", () => {
  it("whole up to 300 characters, shortened with the length beyond", async () => {
    const { StateErrors, quoteIdentifier } = await import("../src/index.js");
    const name = "n".repeat(256);
    expect(StateErrors.notFound(name).message).toBe(`variable "${name}" not found`);
    const hostile = "x".repeat(33_000);
    for (const error of [
      StateErrors.notFound(hostile),
      StateErrors.sessionNotFound(hostile),
      StateErrors.alreadyExists(hostile),
      StateErrors.versionConflict(hostile, 1, 2),
    ]) {
      expect(error.message.length).toBeLessThan(400);
      expect(error.message).toContain("(33000 characters)");
    }
    expect(StateErrors.notFound(hostile).message).toMatch(/ not found$/);
    expect(quoteIdentifier('a"b')).toBe(JSON.stringify('a"b'));
  });
});
