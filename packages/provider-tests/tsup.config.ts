import { defineConfig } from "tsup";

const common = {
  dts: true,
  sourcemap: true,
  target: "node20",
  external: ["vitest"],
} as const;

export default defineConfig([
  { ...common, entry: ["src/index.ts"], format: ["esm", "cjs"], clean: true },
  // vitest itself cannot be loaded with require(), so this entry is ESM only.
  { ...common, entry: ["src/vitest.ts"], format: ["esm"] },
]);
