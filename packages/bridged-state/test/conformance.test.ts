import { runConformanceSuite } from "@dspex/provider-tests/vitest";
import { afterAll, describe } from "vitest";
import { BridgedState, BridgeServer, RemoteState, SessionStore } from "../src/index.js";

/*
 * Both backends run the whole conformance suite. BridgedState serves its store while the suite
 * runs (as it does for Python workers); RemoteState goes through a real BridgeService on a
 * loopback ephemeral port. The [distribution] tests get a second instance with its own channel:
 * a RemoteState on the same server, as another process would have it.
 */

const bridged = new BridgedState({ serve: { port: 0 } });
await bridged.serve();

const store = new SessionStore();
const server = await BridgeServer.start({ store, port: 0 });
const remote = new RemoteState({ address: server.address, deadlineMs: 5_000 });

afterAll(async () => {
  await bridged.close();
  await server.close();
  store.close();
});

describe("BridgedState", () => {
  runConformanceSuite(bridged, {
    secondInstance: () => new RemoteState({ address: bridged.address!, deadlineMs: 5_000 }),
  });
});

describe("RemoteState", () => {
  runConformanceSuite(remote, {
    secondInstance: () => new RemoteState({ address: server.address, deadlineMs: 5_000 }),
  });
});
