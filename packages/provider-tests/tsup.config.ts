import { defineConfig } from "tsup";

const common = {
  dts: true,
  sourcemap: true,
  target: "node20",
  external: ["vitest"],
} as const;

export default defineConfig([
  // shims: import.meta.url in the CommonJS build, to find child-host.js beside it.
  { ...common, entry: ["src/index.ts"], format: ["esm", "cjs"], clean: true, shims: true },
  // vitest itself cannot be loaded with require(), so this entry is ESM only.
  { ...common, entry: ["src/vitest.ts"], format: ["esm"] },
  // The script childProcessProvider forks: nothing imports it.
  { ...common, entry: ["src/child-host.ts"], format: ["esm"], dts: false },
]);
