// The other process of the watch-latency benchmark: hears RedisState events and raw sharded
// pub/sub messages, and reports the wall-clock time of each receipt to its parent.
import { performance } from "node:perf_hooks";
import { createClient } from "@redis/client";
import { RedisState } from "../dist/index.js";

const [url, sessionId, channel] = process.argv.slice(2);
const now = () => performance.timeOrigin + performance.now();
const provider = new RedisState({ url });
const init = await provider.init({ sessionId });
if (!init.ok) throw new Error(init.error.message);
await provider.subscribe(init.value, "*", (event) => {
  process.send({ kind: "state", i: event.value, t: now() });
});
const raw = createClient({ url });
await raw.connect();
await raw.sSubscribe(channel, (message) =>
  process.send({ kind: "raw", i: Number(message), t: now() }),
);
process.send({ kind: "ready" });
process.on("message", async (message) => {
  if (message !== "stop") return;
  await raw.close();
  await provider.cleanup(init.value);
  process.disconnect();
});
