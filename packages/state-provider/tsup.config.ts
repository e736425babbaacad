import { defineConfig } from "tsup";

export default defineConfig({
  entry: { index: "src/index.ts", backend: "src/backend/index.ts" },
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
});
