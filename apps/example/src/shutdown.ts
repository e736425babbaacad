// One place that knows what must be stopped before the process exits (the worker, the Context,
// the gRPC server) and runs it on success, on failure and on Ctrl-C / SIGTERM alike.

type Cleanup = () => Promise<void>;

export class Shutdown {
  readonly #cleanups: { label: string; run: Cleanup }[] = [];
  #running: Promise<void> | undefined;
  /** Set once a signal arrived: the main flow stops reporting errors caused by the teardown. */
  interrupted: NodeJS.Signals | undefined;

  /** Registers a cleanup; they run in reverse order (the last thing started stops first). */
  defer(label: string, run: Cleanup): void {
    this.#cleanups.push({ label, run });
  }

  /** Runs every cleanup once, even when one of them fails. Idempotent. */
  run(): Promise<void> {
    this.#running ??= (async () => {
      for (const { label, run } of this.#cleanups.splice(0).reverse()) {
        try {
          await run();
        } catch (error) {
          console.error(`cleanup of ${label} failed: ${(error as Error).message}`);
        }
      }
    })();
    return this.#running;
  }

  /**
   * On SIGINT/SIGTERM: clean up, then exit 128 + signal number (the shell convention). A second
   * signal while cleaning up exits at once; the worker still goes, since its stdin closes.
   */
  exitOnSignals(print: (line: string) => void, what = "the worker and the bridge server"): void {
    const codes: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 };
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      process.on(signal, () => {
        const code = codes[signal] ?? 1;
        if (this.interrupted !== undefined) process.exit(code);
        this.interrupted = signal;
        print(`\n${signal}: stopping ${what}`);
        void this.run().finally(() => process.exit(code));
      });
    }
  }
}
