#!/usr/bin/env node
// Entry point for the README's commands (`npm run demo`, `npm test`, `npm run bench`).
// A fresh machine has Node and npm only, so this script brings in the pinned pnpm,
// installs the workspace from the lockfile, the Python packages and redis-server, then runs
// the task.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { constants } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { packageManager } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const pnpmVersion = packageManager.replace(/^pnpm@/, "");
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" };

// Ctrl-C reaches the whole process group; stay alive until the child has cleaned up and
// exit with its status rather than dying first and leaving its output after the prompt.
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => {});

/** Runs a command; `quiet` keeps its output unless it fails. Answers the exit status. */
function run(command, args, { quiet = false } = {}) {
  const result = spawnSync(command, args, {
    cwd: root,
    env,
    stdio: quiet ? ["ignore", "pipe", "pipe"] : "inherit",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  const status = result.status ?? 128 + (constants.signals[result.signal] ?? 0);
  if (quiet && status !== 0) {
    process.stdout.write(result.stdout ?? "");
    process.stderr.write(result.stderr ?? "");
  }
  return status;
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
const pnpmRun = (args, options) => run(pnpm, [...pnpmPrefix, ...args], options);
const pnpmMust = (args, options) => must(pnpm, [...pnpmPrefix, ...args], options);

const task = process.argv[2];
// The demo shows the story, not the plumbing: its setup steps speak only when they fail.
const quiet = task === "demo";
if (quiet)
  console.log(
    `setting up: pnpm ${pnpmVersion}, workspace install, Python packages, Redis, build\n`,
  );
pnpmMust(["install", "--frozen-lockfile", "--reporter=append-only"], { quiet });
must("bash", ["scripts/setup-python.sh"], { quiet });
// The Redis tests and benchmark start their own redis-server processes.
must("bash", ["scripts/setup-redis.sh"], { quiet });

switch (task) {
  case "test": {
    // The inspector's browser test drives Debian's chromium (nothing is downloaded at install).
    must("bash", ["scripts/setup-chromium.sh"]);
    const status = pnpmRun([
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
    ]);
    run("node", ["scripts/test-summary.mjs"]);
    process.exit(status);
    break;
  }
  case "bench":
    // One at a time: benchmarks on a shared machine would measure each other.
    must("node", ["scripts/bench-summary.mjs", "--clear"]);
    pnpmMust(["exec", "turbo", "run", "bench", "--concurrency=1", "--output-logs=new-only"]);
    must("node", ["scripts/bench-summary.mjs"]);
    break;
  case "demo": {
    // `npm run demo -- --distributed [--redis URL]` runs the example's distributed story;
    // any other arguments go to the demo as they are (e.g. `--hold`).
    const args = process.argv.slice(3);
    const script = args.includes("--distributed") ? "demo:distributed" : "demo";
    pnpmMust(["exec", "turbo", "run", "build", "--filter=@dspex/example..."], { quiet });
    const demoArgs = args.filter((arg) => arg !== "--distributed");
    process.exit(pnpmRun(["--filter", "@dspex/example", "run", "--silent", script, ...demoArgs]));
    break;
  }
  default:
    console.error(
      `usage: node scripts/workspace.mjs <test|bench|demo [--distributed] [--redis URL]> (got ${task ?? "nothing"})`,
    );
    process.exit(2);
}
