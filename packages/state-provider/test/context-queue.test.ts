import { describe, expect, it } from "vitest";
import { SerialQueue } from "../src/context/serial-queue.js";

/** The write queue under the Context: one task at a time, in call order, failures isolated. */
describe("SerialQueue", () => {
  it("starts a task synchronously when idle", () => {
    const queue = new SerialQueue();
    let started = false;
    void queue.run(async () => {
      started = true;
    });
    expect(started).toBe(true);
  });

  it("runs 5000 tasks one at a time in call order (past the compaction of its waiting list)", async () => {
    const queue = new SerialQueue();
    const order: number[] = [];
    let running = 0;
    let mostAtOnce = 0;
    const tasks = Array.from({ length: 5000 }, (_, i) =>
      queue.run(async () => {
        running++;
        mostAtOnce = Math.max(mostAtOnce, running);
        if (i % 7 === 0) await new Promise((resolve) => setImmediate(resolve));
        order.push(i);
        running--;
        return i;
      }),
    );
    expect(queue.pending).toBe(5000);
    expect(await Promise.all(tasks)).toEqual(order);
    expect(order).toEqual(Array.from({ length: 5000 }, (_, i) => i));
    expect(mostAtOnce).toBe(1);
    expect(queue.pending).toBe(0);
  });

  it("a task that throws or rejects fails alone; the next one still runs", async () => {
    const queue = new SerialQueue();
    const rejected = queue.run(async () => {
      throw new Error("boom");
    });
    const thrown = queue.run((() => {
      throw new Error("sync boom");
    }) as () => Promise<never>);
    const next = queue.run(async () => "next");
    await expect(rejected).rejects.toThrow("boom");
    await expect(thrown).rejects.toThrow("sync boom");
    expect(await next).toBe("next");
    expect(queue.pending).toBe(0);
  });

  it("a task queued while another finishes waits its turn", async () => {
    const queue = new SerialQueue();
    const order: string[] = [];
    const first = queue.run(async () => {
      order.push("first");
    });
    await first;
    const second = queue.run(async () => {
      order.push("second");
    });
    const third = queue.run(async () => {
      order.push("third");
    });
    await Promise.all([second, third]);
    expect(order).toEqual(["first", "second", "third"]);
  });
});
