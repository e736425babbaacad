/**
 * Runs tasks one at a time, in call order. The Context puts every write and the backend switch
 * through one queue: the threaded state of a backend needs its writes in sequence, and a write
 * issued during a switch must land on exactly one backend. When the queue is idle a task
 * starts at once (synchronously), so an in-process write costs no extra turn of the event loop.
 */
export class SerialQueue {
  #busy = false;
  /** Resolvers of the tasks waiting for their turn, oldest at `#head`. */
  #waiting: (() => void)[] = [];
  #head = 0;

  /** Tasks queued or running. */
  get pending(): number {
    return (this.#busy ? 1 : 0) + this.#waiting.length - this.#head;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#busy) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#busy = true;
    try {
      return await task();
    } finally {
      this.#handOver();
    }
  }

  /** Gives the turn straight to the next waiter, so no newcomer can slip in between. */
  #handOver(): void {
    if (this.#head === this.#waiting.length) {
      this.#busy = false;
      if (this.#head > 0) {
        this.#waiting = [];
        this.#head = 0;
      }
      return;
    }
    const next = this.#waiting[this.#head++]!;
    if (this.#head >= 1024 && this.#head * 2 >= this.#waiting.length) {
      this.#waiting = this.#waiting.slice(this.#head);
      this.#head = 0;
    }
    next();
  }
}
