#!/usr/bin/env node
// Runs a benchmark on its package's code built the way the package ships (esbuild, as tsup
// does), not through tsx: tsx keeps function names by wrapping every closure it creates in a
// `__name` call, a cost on hot paths that the published code never pays.
// Usage (from a package directory): node ../../scripts/run-bench.mjs bench/<file>.ts [args]
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { basename, join } from "node:path";

const [entry, ...args] = process.argv.slice(2);
if (entry === undefined) {
  console.error("usage: run-bench.mjs <bench file> [args]");
  process.exit(2);
}
const root = join(import.meta.dirname, "..");
// esbuild comes with tsup (a root dev dependency): the same compiler the packages are built with.
const tsup = createRequire(join(root, "package.json")).resolve("tsup");
const esbuild = createRequire(tsup)("esbuild");
// Beside the package's own files, so paths found from import.meta.url (the .proto) still work.
const outfile = join(process.cwd(), ".bench-build", basename(entry).replace(/\.ts$/, ".mjs"));
await esbuild.build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // Workspace packages and dependencies run from their own built files.
  packages: "external",
  logLevel: "warning",
});
const run = spawnSync(process.execPath, [outfile, ...args], { stdio: "inherit" });
process.exit(run.status ?? 1);
