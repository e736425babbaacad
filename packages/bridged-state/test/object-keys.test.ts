import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BridgedState, BridgeServer, RemoteState } from "../src/index.js";
import type { BridgeServiceClient } from "../src/wire/generated/snakepit/bridge/BridgeService.js";
import { any, rawClient, unary } from "./helpers.js";

/*
 * Variable names are identifiers used as keys of batch maps (updates, expected versions, errors,
 * answers). Names that are also members of Object.prototype (`constructor`, `toString`,
 * `__proto__`) are valid names and must behave like any other.
 */

let server: BridgeServer;
let client: BridgeServiceClient;

beforeAll(async () => {
  server = await BridgeServer.start();
  client = rawClient(server.address);
});
afterAll(async () => {
  client.close();
  await server.close();
});

type BatchAnswer = {
  success: boolean;
  errors: Record<string, string>;
  new_versions: Record<string, number>;
};

describe("names that are Object.prototype members", () => {
  it("SetVariables over the wire sets `constructor`, `toString` and `valueOf` like any name", async () => {
    const session = "object-keys-wire";
    await unary(client, "InitializeSession", { session_id: session });
    for (const name of ["constructor", "toString", "valueOf"]) {
      const registered = await unary(client, "RegisterVariable", {
        session_id: session,
        name,
        type: "integer",
        initial_value: any("integer", 1),
      });
      expect(registered.ok, name).toBe(true);
    }
    const answer = await unary<BatchAnswer>(client, "SetVariables", {
      session_id: session,
      updates: {
        constructor: any("integer", 2),
        toString: any("integer", 2),
        valueOf: any("integer", 2),
      },
      atomic: true,
    });
    expect(answer).toMatchObject({
      ok: true,
      response: {
        success: true,
        errors: {},
        new_versions: { constructor: 2, toString: 2, valueOf: 2 },
      },
    });
    const cas = await unary<BatchAnswer>(client, "SetVariables", {
      session_id: session,
      updates: { toString: any("integer", 3) },
      expected_versions: { toString: 2 },
      atomic: true,
    });
    expect(cas).toMatchObject({
      ok: true,
      response: { success: true, new_versions: { toString: 3 } },
    });
  });

  it("BridgedState: batches with such names apply, and an unknown `__proto__` fails an atomic batch", async () => {
    const bridged = new BridgedState();
    const init = await bridged.init();
    if (!init.ok) throw new Error(init.error.message);
    const state = init.value;
    await bridged.registerVariable(state, "constructor", "integer", 1);
    await bridged.registerVariable(state, "plain", "integer", 1);

    const written = await bridged.updateVariables(state, { constructor: 5 }, undefined, {
      expectedVersions: {},
    });
    expect(written.ok && written.value.versions).toEqual({ constructor: 2 });

    // A JSON document can carry a `__proto__` key as data (object literals cannot).
    const updates = JSON.parse('{"__proto__": 1, "plain": 7}') as Record<string, unknown>;
    const refused = await bridged.updateVariables(state, updates);
    expect(refused.ok).toBe(false);
    if (refused.ok || refused.error.code !== "partial_failure") throw new Error("expected failure");
    expect(Object.keys(refused.error.failed)).toEqual(["__proto__"]);
    expect(Object.getOwnPropertyDescriptor(refused.error.failed, "__proto__")?.value).toMatchObject(
      { code: "not_found" },
    );
    expect(refused.error.applied).toEqual([]);
    const plain = await bridged.getVariableRecord(state, "plain");
    expect(plain.ok && plain.value).toMatchObject({ value: 1, version: 1 });

    const got = await bridged.getVariables(state, ["constructor", "toString"]);
    expect(got.ok && { ...got.value }).toEqual({ constructor: 5 });
    expect(got.ok && Object.keys(got.value)).toEqual(["constructor"]);
    await bridged.cleanup(state);
    await bridged.close();
  });

  it("RemoteState: batch writes and batch reads with such names", async () => {
    const remote = new RemoteState({ address: server.address, deadlineMs: 5_000 });
    const init = await remote.init({ sessionId: "object-keys-remote" });
    if (!init.ok) throw new Error(init.error.message);
    const state = init.value;
    await remote.registerVariable(state, "constructor", "integer", 1);

    const written = await remote.updateVariables(state, { constructor: 5 });
    expect(written.ok && written.value.versions).toEqual({ constructor: 2 });

    const failing = await remote.updateVariables(state, { constructor: "x" });
    if (failing.ok || failing.error.code !== "partial_failure") throw new Error("expected failure");
    expect(failing.error.failed.constructor).toMatchObject({
      code: "validation_failed",
      variable: "constructor",
    });

    // Only `toString` is missing: it is skipped, never read from the answer's prototype.
    const got = await remote.getVariables(state, ["constructor", "toString"]);
    expect(got.ok && { ...got.value }).toEqual({ constructor: 5 });
    await remote.cleanup(state);
  });
});
