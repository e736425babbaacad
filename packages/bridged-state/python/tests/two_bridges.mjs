// Two BridgeServers in one Node process serving ONE in-memory store: the stand-in for two
// bridges on one Redis (request ids and the change feed live in the shared store). Prints
// {"a": "host:port", "b": "host:port"} once both listen; then reads commands on stdin:
// "stop a" / "stop b" closes that bridge at once (in-flight calls cut, watch streams broken)
// and answers {"stopped": "a"}. End of stdin closes what is left and exits 0.
import { createInterface } from "node:readline";
import { BridgeServer, SessionStore } from "@dspex/bridged-state";

const store = new SessionStore();
const options = { host: "127.0.0.1", port: 0, heartbeatMs: 200, shutdownTimeoutMs: 0, store };
const bridges = { a: await BridgeServer.start(options), b: await BridgeServer.start(options) };
console.log(JSON.stringify({ a: bridges.a.address, b: bridges.b.address }));

for await (const line of createInterface({ input: process.stdin })) {
  const [command, name] = line.trim().split(/\s+/);
  const bridge = bridges[name];
  if (command !== "stop" || bridge === undefined) {
    console.log(JSON.stringify({ error: `unknown command ${JSON.stringify(line)}` }));
    continue;
  }
  await bridge.close();
  console.log(JSON.stringify({ stopped: name }));
}
await Promise.all(Object.values(bridges).map((bridge) => bridge.close()));
store.close();
