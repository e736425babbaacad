import { runConformanceSuite } from "@dspex/provider-tests/vitest";
import { LocalState } from "../src/index.js";

runConformanceSuite(LocalState);
