import { defineConfig } from "tsup";

export default defineConfig({
  entry: { index: "src/index.ts", redis: "src/redis.ts", cli: "src/server/cli.ts" },
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
  // grpc-js is a peer: the application's copy must be the one that runs.
  external: ["@grpc/grpc-js"],
  // import.meta.url in the CJS build and __dirname in ESM: src/wire/proto.ts finds the .proto with them.
  shims: true,
});
