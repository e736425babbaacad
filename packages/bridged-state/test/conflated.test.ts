import { spawn } from "node:child_process";
import { join } from "node:path";
import type { VariableEvent } from "@dspex/state-provider";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RemoteState } from "../src/index.js";
import { type CliServer, startCli, until } from "./helpers.js";

/*
 * A subscriber that falls behind: the bridge sends one message per variable, marked conflated,
 * once the stream holds more than maxWatchBufferBytes unsent. RemoteState tells it as a
 * `resync` event (the versions between were not told), from the value it last told.
 */

const WRITES = 200;
const VALUE_BYTES = 16_000;

let bridge: CliServer;

beforeAll(async () => {
  bridge = await startCli([
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--max-watch-buffer-bytes",
    "65536",
  ]);
});
afterAll(async () => {
  await bridge.stop();
});

/** A process of its own writes `WRITES` large values one after another, then exits. */
function writeFromAnotherProcess(address: string, sessionId: string): Promise<number | null> {
  const dist = join(import.meta.dirname, "..", "dist", "index.js");
  const script = `
    const { RemoteState } = await import(${JSON.stringify(dist)});
    const remote = new RemoteState({ address: ${JSON.stringify(address)} });
    const state = await remote.init({ sessionId: ${JSON.stringify(sessionId)} });
    if (!state.ok) process.exit(3);
    for (let i = 1; i <= ${WRITES}; i++) {
      const written = await remote.setVariable(state.value, "big", String(i).padEnd(${VALUE_BYTES}, "x"));
      if (!written.ok) process.exit(4);
    }
    process.exit(0);
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    stdio: "inherit",
  });
  return new Promise((resolve) => child.on("exit", resolve));
}

describe("a RemoteState subscriber that falls behind", () => {
  it("hears the latest value as a resync event, previous value the one it last heard", async () => {
    const remote = new RemoteState({ address: bridge.address });
    const state = await remote.init({ sessionId: "conflated" });
    if (!state.ok) throw new Error(state.error.message);
    expect((await remote.registerVariable(state.value, "big", "string", "0")).ok).toBe(true);
    const events: VariableEvent[] = [];
    expect((await remote.subscribe(state.value, "big", (e) => events.push(e))).ok).toBe(true);
    expect((await remote.setVariable(state.value, "big", "ready")).ok).toBe(true);
    await until(() => events.some((e) => e.value === "ready"), "the subscription to be live");

    const writer = writeFromAnotherProcess(bridge.address, "conflated");
    // This process reads nothing for 1.5 s (the bridge's writes pile up unsent), then catches up.
    const blockedUntil = Date.now() + 1_500;
    while (Date.now() < blockedUntil) {
      // Busy on purpose: the event loop must not run.
    }
    expect(await writer).toBe(0);
    const last = String(WRITES).padEnd(VALUE_BYTES, "x");
    await until(() => events.at(-1)?.value === last, "the last value", 10_000);

    const heard = events.slice(events.findIndex((e) => e.value === "ready") + 1);
    expect(heard.length).toBeLessThan(WRITES);
    const resyncs = heard.filter((e) => e.resync === true);
    expect(resyncs.length).toBeGreaterThan(0);
    // Each event's previous value is the value told just before it, resync or not.
    let told = "ready";
    for (const event of heard) {
      if (event.resync) expect(event.previousValue).toBe(told);
      told = event.value as string;
    }
    // Versions only go up; a resync skips some.
    const versions = heard.map((e) => e.version);
    expect([...versions].sort((a, b) => a - b)).toEqual(versions);
    expect(versions.at(-1)).toBe(WRITES + 2);
    await remote.cleanup(state.value);
  }, 30_000);
});
