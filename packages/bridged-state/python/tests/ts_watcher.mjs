// A TypeScript watcher for the Redis-bridge tests: RemoteState (the built package) on one
// bridge, subscribed to every variable of a session; prints one JSON line per event it hears
// ({"name", "version", "value", "kind"}), after a first {"ready": true} once it is subscribed.
import { RemoteState } from "../../dist/index.js";

const [address, sessionId] = process.argv.slice(2);
const provider = new RemoteState({ address, deadlineMs: 10_000 });
const opened = await provider.init({ sessionId });
if (!opened.ok) {
  process.stderr.write(`ts_watcher: init failed: ${opened.error.message}\n`);
  process.exit(1);
}
const state = opened.value;
const subscribed = await provider.subscribe(state, "*", (event) => {
  process.stdout.write(
    `${JSON.stringify({ name: event.name, version: event.version, value: event.value, kind: event.kind })}\n`,
  );
});
if (!subscribed.ok) {
  process.stderr.write(`ts_watcher: subscribe failed: ${subscribed.error.message}\n`);
  process.exit(1);
}
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
process.stdin.resume();
process.stdin.on("end", async () => {
  await provider.cleanup(state);
  process.exit(0);
});
