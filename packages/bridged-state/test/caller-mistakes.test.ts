import type { StateProvider } from "@dspex/state-provider";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BridgedState, BridgeServer, RemoteState } from "../src/index.js";

/*
 * Mistakes a JavaScript caller can make past the types get the answer LocalState gives
 * (`invalid_argument`), from both backends: never `unavailable` (the bridge is fine) and never
 * a silently wrong result.
 */

let server: BridgeServer;
beforeAll(async () => {
  server = await BridgeServer.start();
});
afterAll(async () => {
  await server.close();
});

const backends: [string, () => StateProvider<unknown>][] = [
  ["BridgedState", () => new BridgedState() as unknown as StateProvider<unknown>],
  [
    "RemoteState",
    () => new RemoteState({ address: server.address }) as unknown as StateProvider<unknown>,
  ],
];

describe.each(backends)("%s", (_name, create) => {
  it("init with metadata that is not string -> string, or a session id that is not a string, creates nothing", async () => {
    const provider = create();
    const before = server.store.stats().sessions;
    const badMetadata = await provider.init({
      metadata: { attempt: 1 } as unknown as Record<string, string>,
    });
    expect(!badMetadata.ok && badMetadata.error).toMatchObject({
      code: "validation_failed",
      rule: "metadata",
    });
    const badId = await provider.init({ sessionId: 42 as unknown as string });
    expect(!badId.ok && badId.error.code).toBe("invalid_argument");
    expect(!badId.ok && badId.error.message).toMatch(/session id/);
    expect(server.store.stats().sessions).toBe(before);
    if (provider instanceof BridgedState) await provider.close();
  });

  it("getVariables with identifiers that are not an array -> invalid_argument", async () => {
    const provider = create();
    const init = await provider.init();
    if (!init.ok) throw new Error(init.error.message);
    const state = init.value;
    await provider.registerVariable(state, "a", "integer", 1);
    for (const identifiers of ["a", undefined, { 0: "a" }]) {
      const got = await provider.getVariables(state, identifiers as unknown as string[]);
      expect(!got.ok && got.error.code, String(identifiers)).toBe("invalid_argument");
      expect(!got.ok && got.error.message).toMatch(/array of identifiers/);
    }
    expect(await provider.getVariables(state, ["a"])).toMatchObject({ ok: true, value: { a: 1 } });
    await provider.cleanup(state);
    if (provider instanceof BridgedState) await provider.close();
  });
});

describe("RemoteState options", () => {
  it("refuses deadlines and delays Node cannot time, with a TypeError naming the option", () => {
    const address = "127.0.0.1:1";
    for (const [option, value] of [
      ["deadlineMs", 0],
      ["deadlineMs", Number.NaN],
      // Node turns a timer delay above 2^31-1 ms into 1 ms: subscribe would time out at once.
      ["deadlineMs", 2 ** 31],
      ["maxResubscribeDelayMs", 2 ** 31],
      ["maxMessageBytes", -1],
      ["keepaliveTimeMs", 0],
      ["keepaliveTimeMs", 2 ** 31],
      ["keepaliveTimeoutMs", -5],
      ["keepaliveTimeoutMs", Number.NaN],
    ] as const) {
      expect(() => new RemoteState({ address, [option]: value }), option).toThrow(
        new RegExp(`RemoteState: ${option} must be`),
      );
    }
    expect(new RemoteState({ address, deadlineMs: 2 ** 31 - 1 }).address).toBe(address);
  });
});
