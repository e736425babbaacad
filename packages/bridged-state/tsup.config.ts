import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts", "src/cli.ts"],
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
  // grpc-js is a peer: the application's copy must be the one that runs.
  external: ["@grpc/grpc-js"],
  // import.meta.url in the CJS build and __dirname in ESM: src/proto.ts finds the .proto with them.
  shims: true,
});
