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

/** `calls` reads and writes (one in ten a write, one in twenty a batch) through the server at `address`. */
export async function warmUp(
  address: string,
  calls: number,
  token: string | undefined,
): Promise<void> {
  const { grpcObject } = loadBridgeProto();
  const client = new grpcObject.snakepit.bridge.BridgeService(
    address,
    grpc.credentials.createInsecure(),
    {},
  ) as unknown as Record<string, (...args: unknown[]) => unknown> & grpc.Client;
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
    for (let i = 0; i < calls; i++) {
      const prefer_binary = i % 4 !== 3;
      if (i % 20 === 19) {
        await call("SetVariables", { session_id, updates: { x: value(i) }, atomic: true });
      } else if (i % 10 === 9) {
        await call("SetVariable", { session_id, variable_identifier: "x", value: value(i) });
      } else if (i % 10 === 5) {
        await call("GetVariables", { session_id, variable_identifiers: ["x"], prefer_binary });
      } else {
        // As clients ask: RemoteState and the Python client prefer binary; others do not.
        await call("GetVariable", { session_id, variable_identifier: "x", prefer_binary });
      }
    }
  } finally {
    await call("CleanupSession", { session_id }).catch(() => {});
    client.close();
  }
}
