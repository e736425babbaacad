#!/usr/bin/env node
// Entry point for the README's commands (`npm run demo`, `npm test`, `npm run bench`).
// A fresh machine has Node and npm only, so this script brings in the pinned pnpm,
// installs the workspace from the lockfile and the Python packages, then runs the task.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { packageManager } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const pnpmVersion = packageManager.replace(/^pnpm@/, "");
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" };

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit", env, ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function must(command, args, options) {
  const status = run(command, args, options);
  if (status !== 0) process.exit(status);
}

function pnpmCommand() {
  const probe = spawnSync("pnpm", ["--version"], { encoding: "utf8", env });
  if (probe.status === 0 && probe.stdout.trim() === pnpmVersion) return ["pnpm", []];
  return ["npx", ["--yes", `pnpm@${pnpmVersion}`]];
}

const [pnpm, pnpmPrefix] = pnpmCommand();
const pnpmRun = (...args) => run(pnpm, [...pnpmPrefix, ...args]);
const pnpmMust = (...args) => must(pnpm, [...pnpmPrefix, ...args]);

const task = process.argv[2];
pnpmMust("install", "--frozen-lockfile", "--reporter=append-only");
must("bash", ["scripts/setup-python.sh"]);

switch (task) {
  case "test": {
    const status = pnpmRun(
      "exec",
      "turbo",
      "run",
      "lint",
      "build",
      "typecheck",
      "check-exports",
      "test",
      "--concurrency=2",
      "--output-logs=new-only",
    );
    run("node", ["scripts/test-summary.mjs"]);
    process.exit(status);
    break;
  }
  case "bench":
    // One at a time: benchmarks on a shared machine would measure each other.
    pnpmMust("exec", "turbo", "run", "bench", "--concurrency=1", "--output-logs=new-only");
    break;
  case "demo":
    pnpmMust(
      "exec",
      "turbo",
      "run",
      "build",
      "--filter=@dspex/example...",
      "--output-logs=errors-only",
    );
    process.exit(pnpmRun("--filter", "@dspex/example", "run", "--silent", "demo"));
    break;
  default:
    console.error(`usage: node scripts/workspace.mjs <test|bench|demo> (got ${task ?? "nothing"})`);
    process.exit(2);
}
