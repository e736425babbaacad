// Another process writing to a session while a test resumes a watcher: sets "n" to 1..count,
// one commit each, as fast as Redis answers, then cleans up and exits.
import { RedisState } from "../../src/index.js";

const [url, sessionId, count] = process.argv.slice(2) as [string, string, string];
const provider = new RedisState({ url });
const state = await provider.joinSession(sessionId);
if (!state.ok) throw new Error(state.error.message);
for (let value = 1; value <= Number(count); value++) {
  const written = await provider.setVariable(state.value, "n", value);
  if (!written.ok) throw new Error(written.error.message);
}
await provider.cleanup(state.value);
