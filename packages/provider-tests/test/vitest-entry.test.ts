import { runConformanceSuite } from "../src/vitest.js";
import { referenceBackend } from "./reference-backend.js";

// The one-line vitest entry, run for real: the reference backend passes, unclaimed capabilities show as skipped.
runConformanceSuite(referenceBackend());
