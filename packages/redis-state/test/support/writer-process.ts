// Another process on the same session, for the distribution test: registers a variable, sets
// it, cleans up and must then exit by itself (the provider closed its connections).
import { RedisState } from "../../src/index.js";

const [url, sessionId] = process.argv.slice(2) as [string, string];
const provider = new RedisState({ url });
const state = await provider.init({ sessionId });
if (!state.ok) throw new Error(state.error.message);
const heard: unknown[] = [];
await provider.subscribe(state.value, "*", (event) => void heard.push(event.value));
const registered = await provider.registerVariable(state.value, "from_child", "integer", 1);
if (!registered.ok) throw new Error(registered.error.message);
for (const value of [2, 3]) {
  const written = await provider.setVariable(state.value, "from_child", value);
  if (!written.ok) throw new Error(written.error.message);
}
const deadline = Date.now() + 3000;
while (!heard.includes(3) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
process.stdout.write(JSON.stringify({ heard }));
await provider.cleanup(state.value);
