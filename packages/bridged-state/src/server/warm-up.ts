import { randomUUID } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { loadBridgeProto } from "../wire/proto.js";

/*
 * A freshly started bridge answers its first few hundred calls at half speed or worse: grpc-js,
 * node:http2 and protobufjs run before V8 has optimized them (our own handlers are a few percent
 * of that time). `warmUp` makes those calls itself, over loopback, before the server says it is
 * listening, on a throwaway session it deletes afterwards.
 */

const FLOAT = "type.googleapis.com/snakepit.float";
const WARM_UP_IN_FLIGHT = 4;
const WARM_UP_CONNECTIONS = 4;

/** `calls` reads and writes (one in ten a write, one in twenty a batch) through the server at `address`. */
export async function warmUp(
  address: string,
  calls: number,
  token: string | undefined,
): Promise<void> {
  const { grpcObject } = loadBridgeProto();
  const connect = () =>
    new grpcObject.snakepit.bridge.BridgeService(address, grpc.credentials.createInsecure(), {
      // A connection of its own each time (grpc-js would share one per address).
      "grpc.use_local_subchannel_pool": 1,
    }) as unknown as Record<string, (...args: unknown[]) => unknown> & grpc.Client;
  let client = connect();
  const metadata = new grpc.Metadata();
  if (token !== undefined) metadata.set("authorization", `Bearer ${token}`);
  const call = (method: string, request: object) =>
    new Promise<void>((resolve, reject) => {
      (client[method] as (...args: unknown[]) => void)(
        request,
        metadata,
        { deadline: Date.now() + 5_000 },
        (error: Error | null) => (error ? reject(error) : resolve()),
      );
    });
  const session_id = `dspex-warm-up-${randomUUID()}`;
  const value = (n: number) => ({ type_url: FLOAT, value: Buffer.from(String(n)) });
  try {
    await call("InitializeSession", { session_id });
    await call("RegisterVariable", {
      session_id,
      name: "x",
      type: "float",
      initial_value: value(0),
    });
    // A few in flight, as a busy server sees them, and so the calls keep the thread busy instead
    // of waiting on loopback: the same number of calls in a fraction of the time.
    // Over several connections in turn: V8 optimizes the server's per-connection paths (HTTP/2
    // session and stream objects) for what it has seen, and a client's first connection after
    // the warm-up would otherwise undo that.
    let issued = 0;
    for (let connection = 1; connection <= WARM_UP_CONNECTIONS; connection++) {
      const until = Math.round((calls * connection) / WARM_UP_CONNECTIONS);
      const worker = async () => {
        while (issued < until) await oneCall(issued++);
      };
      await Promise.all(Array.from({ length: WARM_UP_IN_FLIGHT }, worker));
      if (connection < WARM_UP_CONNECTIONS) {
        client.close();
        client = connect();
      }
    }
  } finally {
    await call("CleanupSession", { session_id }).catch(() => {});
    client.close();
  }

  function oneCall(i: number): Promise<void> {
    const prefer_binary = i % 4 !== 3;
    if (i % 20 === 19) {
      return call("SetVariables", { session_id, updates: { x: value(i) }, atomic: true });
    }
    if (i % 10 === 9) {
      return call("SetVariable", { session_id, variable_identifier: "x", value: value(i) });
    }
    if (i % 10 === 5) {
      return call("GetVariables", { session_id, variable_identifiers: ["x"], prefer_binary });
    }
    // As clients ask: RemoteState and the Python client prefer binary; others do not.
    return call("GetVariable", { session_id, variable_identifier: "x", prefer_binary });
  }
}
