// Regenerates src/wire/generated/ (TypeScript types for the messages and the service) from the one
// .proto in proto/. Run after any change to the .proto: `pnpm generate`, then commit the result.
// An argument names another output folder (the test that checks src/wire/generated is current).
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const generator = join(
  dirname(require.resolve("@grpc/proto-loader/package.json")),
  "build/bin/proto-loader-gen-types.js",
);
const outDir = process.argv[2] ?? join(root, "src/wire/generated");

rmSync(outDir, { recursive: true, force: true });
execFileSync(
  process.execPath,
  [
    generator,
    // Options mirror the runtime loader (src/wire/proto.ts) so the types describe the objects it builds.
    "--keepCase",
    "--longs=String",
    "--enums=String",
    "--defaults",
    "--oneofs",
    "--grpcLib=@grpc/grpc-js",
    "--includeComments",
    "--outDir",
    outDir,
    "--importFileExtension=.js",
    "--inputTemplate=%s__Input",
    "--outputTemplate=%s__Output",
    "proto/snakepit_bridge.proto",
  ],
  { stdio: ["ignore", "ignore", "inherit"], cwd: root },
);
