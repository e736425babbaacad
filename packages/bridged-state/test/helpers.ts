import * as grpc from "@grpc/grpc-js";
import type { BridgeServiceClient } from "../src/generated/snakepit/bridge/BridgeService.js";
import { loadBridgeProto } from "../src/proto.js";

/** A raw BridgeService client, as a Python worker or any other language would use the wire. */
export function rawClient(
  address: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  options: grpc.ChannelOptions = {},
): BridgeServiceClient {
  const { grpcObject } = loadBridgeProto();
  return new grpcObject.snakepit.bridge.BridgeService(address, credentials, options);
}

export interface CallFailure {
  code: grpc.status;
  details: string;
}

/** Calls a unary method and answers the response or the status it failed with. */
export function unary<Res>(
  client: BridgeServiceClient,
  method: string,
  request: object,
  metadata: grpc.Metadata = new grpc.Metadata(),
): Promise<{ ok: true; response: Res } | { ok: false; code: grpc.status; details: string }> {
  return new Promise((resolve) => {
    const fn = (client as unknown as Record<string, (...args: unknown[]) => unknown>)[method];
    if (fn === undefined) throw new Error(`no method ${method}`);
    fn.call(
      client,
      request,
      metadata,
      { deadline: Date.now() + 5_000 },
      (error: grpc.ServiceError | null, response: Res) => {
        if (error) resolve({ ok: false, code: error.code, details: error.details });
        else resolve({ ok: true, response });
      },
    );
  });
}

export const json = (value: unknown) => Buffer.from(JSON.stringify(value), "utf8");
export const any = (type: string, value: unknown) => ({
  type_url: `type.googleapis.com/snakepit.${type}`,
  value: json(value),
});
