/**
 * Runs tasks one at a time, in call order. The Context puts every write and the backend switch
 * through one queue: the threaded state of a backend needs its writes in sequence, and a write
 * issued during a switch must land on exactly one backend. When the queue is idle a task
 * starts at once, so an in-process write costs no extra turn of the event loop.
 */
export class SerialQueue {
  #tail: Promise<void> = Promise.resolve();
  #pending = 0;

  /** Tasks queued or running. */
  get pending(): number {
    return this.#pending;
  }

  run<T>(task: () => Promise<T>): Promise<T> {
    const idle = this.#pending === 0;
    this.#pending++;
    const result = idle ? start(task) : this.#tail.then(task);
    const release = () => {
      this.#pending--;
    };
    this.#tail = result.then(release, release);
    return result;
  }
}

function start<T>(task: () => Promise<T>): Promise<T> {
  try {
    return task();
  } catch (error) {
    return Promise.reject(error);
  }
}
