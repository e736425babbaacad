// The provider a freshly started process would make, for the suite's `restart` hook
// (childProcessProvider loads this module in a new Node process): a server by URL, or a
// Cluster by its root nodes (comma-separated).
import { RedisState } from "../../src/index.js";

const url = process.env.DSPEX_REDIS_URL;
const rootNodes = process.env.DSPEX_REDIS_ROOT_NODES?.split(",");
if (url === undefined && rootNodes === undefined)
  throw new Error("set DSPEX_REDIS_URL or DSPEX_REDIS_ROOT_NODES");
export default url === undefined
  ? new RedisState({ rootNodes: rootNodes as string[], timeoutMs: 3000 })
  : new RedisState({ url, timeoutMs: 2000 });
