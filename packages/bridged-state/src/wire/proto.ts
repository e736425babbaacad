import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import type { ProtoGrpcType } from "./generated/snakepit_bridge.js";

/** Options shared by the runtime loader and `scripts/generate.mjs`, so the generated types fit. */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** The full method path prefix of the service: `/snakepit.bridge.BridgeService/`. */
export const SERVICE_NAME = "snakepit.bridge.BridgeService";

/**
 * The package's one `.proto`, in `proto/` at the package root. This file runs from `src/wire/`
 * (tests) and bundled into `dist/` (ESM and CJS builds), so the root is found by walking up.
 */
export function protoPath(): string {
  const here = typeof __dirname === "string" ? __dirname : dirname(fileURLToPath(import.meta.url));
  for (const up of ["..", join("..", "..")]) {
    const candidate = join(here, up, "proto", "snakepit_bridge.proto");
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`dspex-bridge: cannot find the bridge .proto above ${here}`);
}

let cached: { definition: protoLoader.PackageDefinition; grpcObject: ProtoGrpcType } | undefined;

/** The loaded package definition (for reflection) and the typed grpc object (cached). */
export function loadBridgeProto(): {
  definition: protoLoader.PackageDefinition;
  grpcObject: ProtoGrpcType;
} {
  if (cached === undefined) {
    const definition = protoLoader.loadSync(protoPath(), LOADER_OPTIONS);
    const grpcObject = grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType;
    cached = { definition, grpcObject };
  }
  return cached;
}
