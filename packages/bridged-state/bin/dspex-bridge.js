#!/usr/bin/env node
// Thin launcher so the bin exists before the first build (pnpm links bins at install).
import "../dist/cli.js";
