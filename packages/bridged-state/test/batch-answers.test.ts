import { afterAll, describe, expect, it } from "vitest";
import { BridgeServer } from "../src/index.js";
import type { BatchGetVariablesResponse__Output } from "../src/wire/generated/snakepit/bridge/BatchGetVariablesResponse.js";
import type { GetVariableResponse__Output } from "../src/wire/generated/snakepit/bridge/GetVariableResponse.js";
import { rawClient, unary } from "./helpers.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe("GetVariables answers assembled from encoded records", () => {
  it("decode to what GetVariable answers for each variable, missing ones listed", async () => {
    const server = await BridgeServer.start();
    cleanups.push(() => server.close());
    const store = server.store;
    store.createSession("batch");
    // Long enough for lengths of two varint bytes, and names not ASCII among the missing ones.
    const long = "x".repeat(200);
    store.register("batch", { name: "temperature", type: "float", value: 0.5 });
    store.register("batch", { name: long, type: "string", value: "é😀".repeat(100) });
    store.register("batch", {
      name: "vector",
      type: "embedding",
      value: Array.from({ length: 300 }, (_, i) => i / 7),
    });
    const client = rawClient(server.address);
    cleanups.push(() => client.close());
    for (const prefer_binary of [false, true]) {
      const identifiers = ["temperature", long, "nopé😀", "vector", "also missing"];
      const batch = await unary<BatchGetVariablesResponse__Output>(client, "GetVariables", {
        session_id: "batch",
        variable_identifiers: identifiers,
        prefer_binary,
      });
      if (!batch.ok) throw new Error("GetVariables failed");
      expect(Object.keys(batch.response.variables)).toEqual(["temperature", long, "vector"]);
      expect(batch.response.missing_variables).toEqual(["nopé😀", "also missing"]);
      for (const identifier of ["temperature", long, "vector"]) {
        const single = await unary<GetVariableResponse__Output>(client, "GetVariable", {
          session_id: "batch",
          variable_identifier: identifier,
          prefer_binary,
        });
        if (!single.ok) throw new Error("GetVariable failed");
        expect(batch.response.variables[identifier]).toEqual(single.response.variable);
      }
    }
  });
});
