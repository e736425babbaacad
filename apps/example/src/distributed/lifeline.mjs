// Preloaded into each dspex-bridge the demo starts (`node --import`): the demo holds the
// bridge's stdin open, so EOF means the demo is gone, even killed outright, and the bridge
// shuts down as on SIGTERM instead of running on as an orphan.
process.stdin.on("end", () => process.kill(process.pid, "SIGTERM"));
process.stdin.resume();
// Reading stdin must not keep the bridge alive once it has shut down.
process.stdin.unref();
