import assert from "node:assert/strict";
import type { Result, VariableEvent } from "@dspex/state-provider";
import { type ConformanceTest, eventually, must, mustFail, recorder, sleep } from "../harness.js";

/** An error whose stack is its message alone: a backend that logs it prints no stack trace. */
function expectedFailure(message: string): Error {
  const error = new Error(message);
  error.stack = `Error: ${message}`;
  return error;
}

const names = (events: readonly VariableEvent[]) => events.map((e) => e.name);

export const streamingTests: ConformanceTest[] = [
  {
    name: "[streaming] subscribers receive registered, updated and deleted events with their full payload",
    requires: "streaming",
    async run({ open, timeoutMs }) {
      const s = await open();
      const { events, subscriber } = recorder();
      must(await s.subscribe("*", subscriber), "subscribe");
      const before = Date.now();
      const id = await s.add("temperature", "float", 0.7, { metadata: { owner: "opt" } });
      must(await s.set("temperature", 0.9, { source: "python" }), "set");
      must(await s.delete(id), "delete");
      await eventually(
        () => events.length >= 3,
        timeoutMs,
        `expected 3 events, got ${events.length}`,
      );
      await sleep(5);
      assert.equal(
        events.length,
        3,
        `expected exactly 3 events, got ${events.map((e) => e.kind).join(", ")}`,
      );
      const [registered, updated, deleted] = events as [
        VariableEvent,
        VariableEvent,
        VariableEvent,
      ];
      const common = { id, name: "temperature", type: "float" };
      assert.deepStrictEqual(
        {
          kind: registered.kind,
          id: registered.id,
          name: registered.name,
          type: registered.type,
          value: registered.value,
          previousValue: registered.previousValue,
          version: registered.version,
          source: registered.source,
        },
        {
          kind: "registered",
          ...common,
          value: 0.7,
          previousValue: undefined,
          version: 1,
          source: "typescript",
        },
      );
      assert.equal(registered.metadata.owner, "opt");
      assert.deepStrictEqual(
        {
          kind: updated.kind,
          id: updated.id,
          name: updated.name,
          type: updated.type,
          value: updated.value,
          previousValue: updated.previousValue,
          version: updated.version,
          source: updated.source,
        },
        {
          kind: "updated",
          ...common,
          value: 0.9,
          previousValue: 0.7,
          version: 2,
          source: "python",
        },
      );
      assert.deepEqual({ ...updated.metadata }, { owner: "opt", source: "python" });
      assert.equal(deleted.kind, "deleted");
      assert.equal(deleted.id, id);
      assert.equal(deleted.value, 0.9, "a deleted event carries the last value");
      for (const event of events) {
        assert.ok(
          event.timestamp >= before && event.timestamp <= Date.now(),
          `${event.kind} timestamp ${event.timestamp} is not wall-clock`,
        );
      }
    },
  },
  {
    name: "[streaming] events are sent after the change commits, in commit order",
    requires: "streaming",
    async run({ open, timeoutMs }) {
      const s = await open();
      const seen: Promise<{ event: VariableEvent; version: number | undefined }>[] = [];
      // Read the variable the moment its event arrives: it must already show the change.
      must(
        await s.subscribe("*", (event) => {
          seen.push(
            s.provider
              .getVariableRecord(s.state, event.id)
              .then((r) => ({ event, version: r.ok ? r.value.version : undefined })),
          );
        }),
        "subscribe",
      );
      await s.add("seq", "integer", 0);
      for (let i = 1; i <= 20; i++) must(await s.set("seq", i), `set ${i}`);
      must(await s.update({ seq: 21 }), "update");
      await eventually(
        () => seen.length >= 22,
        timeoutMs,
        `expected 22 events, got ${seen.length}`,
      );
      const observed = await Promise.all(seen);
      assert.deepEqual(
        observed.map((o) => o.event.version),
        Array.from({ length: 22 }, (_, i) => i + 1),
        "events out of commit order",
      );
      assert.deepEqual(
        observed.map((o) => o.event.value),
        Array.from({ length: 22 }, (_, i) => i),
      );
      for (const { event, version } of observed) {
        assert.ok(
          version !== undefined && version >= event.version,
          `event for version ${event.version} arrived before the change was visible (read version ${version})`,
        );
      }
    },
  },
  {
    name: "[streaming] a write made from inside a subscriber reaches every subscriber after the change that caused it",
    requires: "streaming",
    async run({ open, timeoutMs }) {
      const s = await open();
      await s.add("counter", "integer", 1);
      const writes: Promise<unknown>[] = [];
      // The first subscriber reacts to version 2 by writing version 3 from its callback.
      must(
        await s.subscribe("counter", (event) => {
          if (event.version === 2) writes.push(s.set("counter", 3));
        }),
        "subscribe (writer)",
      );
      const { events, subscriber } = recorder();
      must(await s.subscribe("counter", subscriber), "subscribe (listener)");
      must(await s.set("counter", 2), "set 2");
      await eventually(
        () => events.length >= 2,
        timeoutMs,
        `expected 2 events, got ${events.length}`,
      );
      await Promise.all(writes);
      assert.deepEqual(
        events.map((e) => e.version),
        [2, 3],
        "the later subscriber heard the changes out of commit order",
      );
    },
  },
  {
    name: "[streaming] patterns: * matches all, temp* matches prefixes, ? matches one character, others match exactly",
    requires: "streaming",
    async run({ open, timeoutMs }) {
      const s = await open();
      const all = recorder();
      const temp = recorder();
      const single = recorder();
      const exact = recorder();
      must(await s.subscribe("*", all.subscriber), "subscribe *");
      must(await s.subscribe("temp*", temp.subscriber), "subscribe temp*");
      must(await s.subscribe("a?", single.subscriber), "subscribe a?");
      must(await s.subscribe("max_tokens", exact.subscriber), "subscribe max_tokens");
      const registered = [
        "temperature",
        "temp",
        "my_temp",
        "a1",
        "ab",
        "a",
        "abc",
        "max_tokens",
        "max_tokens_2",
        "tempo",
      ];
      for (const name of registered) await s.add(name, "integer", 1);
      await eventually(
        () => all.events.length >= registered.length,
        timeoutMs,
        "events for every variable",
      );
      await sleep(5);
      assert.deepEqual(names(all.events), registered);
      assert.deepEqual(names(temp.events), ["temperature", "temp", "tempo"]);
      assert.deepEqual(names(single.events), ["a1", "ab"]);
      assert.deepEqual(names(exact.events), ["max_tokens"]);
    },
  },
  {
    name: "[streaming] a throwing subscriber does not break the writer or other subscribers",
    requires: "streaming",
    async run({ open, timeoutMs }) {
      const s = await open();
      const before = recorder();
      const after = recorder();
      must(await s.subscribe("*", before.subscriber), "subscribe first");
      must(
        await s.subscribe("*", () => {
          throw expectedFailure("subscriber failure (expected by the conformance suite)");
        }),
        "subscribe thrower",
      );
      must(await s.subscribe("*", after.subscriber), "subscribe last");
      await s.add("x", "integer", 1);
      must(await s.set("x", 2), "set with a throwing subscriber");
      await eventually(
        () => after.events.length >= 2,
        timeoutMs,
        "events reach the subscriber after the thrower",
      );
      assert.equal(before.events.length, 2);
      assert.equal(must(await s.get("x"), "get"), 2);
      assert.equal((await s.mustRecord("x")).version, 2);
    },
  },
  {
    name: "[streaming] unsubscribe stops events and is idempotent",
    requires: "streaming",
    async run({ open, timeoutMs }) {
      const s = await open();
      const stopped = recorder();
      const kept = recorder();
      const subscription = must(await s.subscribe("*", stopped.subscriber), "subscribe");
      must(await s.subscribe("*", kept.subscriber), "subscribe other");
      await s.add("x", "integer", 1);
      await eventually(() => stopped.events.length >= 1, timeoutMs, "first event");
      must(await s.unsubscribe(subscription), "unsubscribe");
      must(await s.unsubscribe(subscription), "unsubscribe again");
      must(await s.unsubscribe("never_subscribed"), "unsubscribe an unknown id");
      must(await s.set("x", 2), "set after unsubscribe");
      await s.add("y", "integer", 1);
      await eventually(
        () => kept.events.length >= 3,
        timeoutMs,
        "the remaining subscriber gets its events",
      );
      await sleep(5);
      assert.equal(stopped.events.length, 1, "an event arrived after unsubscribe");
    },
  },
  {
    name: "[streaming] a failed write sends no event",
    requires: "streaming",
    async run({ open, capabilities, timeoutMs }) {
      const s = await open();
      await s.add("bounded", "integer", 1, { constraints: { max: 5 } });
      await s.add("other", "integer", 1);
      const { events, subscriber } = recorder();
      must(await s.subscribe("*", subscriber), "subscribe");
      mustFail(await s.set("bounded", 6), "validation_failed", "set above max");
      mustFail(await s.set("ghost", 1), "not_found", "set unknown");
      mustFail(await s.register("bounded", "integer", 1), "already_exists", "duplicate register");
      mustFail(await s.delete("ghost"), "not_found", "delete unknown");
      const batch = await s.update({ other: 2, bounded: 6 });
      assert.equal(batch.ok, false);
      mustFail(await s.import({ format: "bogus" }), "invalid_export", "import garbage");
      // A sentinel write: once its event is here, any earlier stray event would be too.
      must(await s.set("other", 9), "sentinel set");
      await eventually(() => events.some((e) => e.value === 9), timeoutMs, "the sentinel event");
      const stray = events.filter((e) => e.value !== 9);
      const expected = capabilities.atomicUpdates ? [] : ["other"];
      assert.deepEqual(names(stray), expected, "events for failed writes");
    },
  },
  {
    name: "[streaming] updateVariables sends one updated event per variable; import sends registered and updated",
    requires: "streaming",
    async run({ open, timeoutMs }) {
      const source = await open();
      const sharedId = await source.add("shared", "integer", 10);
      await source.add("incoming", "string", "hi");
      const document = must(await source.export(), "export");

      const s = await open();
      const { events, subscriber } = recorder();
      must(
        await s.import({
          ...document,
          variables: { [sharedId]: document.variables[sharedId] },
          variableIndex: { shared: sharedId },
        }),
        "import shared",
      );
      must(await s.set("shared", 11), "set shared");
      await s.add("local", "integer", 1);
      must(await s.subscribe("*", subscriber), "subscribe");
      must(await s.update({ shared: 12, local: 2 }, { source: "batch" }), "update");
      await eventually(() => events.length >= 2, timeoutMs, "batch events");
      assert.deepEqual(
        events.map((e) => [e.kind, e.name, e.value, e.source]),
        [
          ["updated", "shared", 12, "batch"],
          ["updated", "local", 2, "batch"],
        ],
      );
      must(await s.import(document), "merge import");
      await eventually(() => events.length >= 4, timeoutMs, "import events");
      await sleep(5);
      const imported = events.slice(2).map((e) => [e.kind, e.name, e.value]);
      assert.deepEqual(imported.sort(), [
        ["registered", "incoming", "hi"],
        ["updated", "shared", 10],
      ]);
    },
  },
  {
    name: "[streaming] events of one session never reach another session's subscribers",
    requires: "streaming",
    async run({ open, timeoutMs }) {
      const a = await open();
      const b = await open();
      const inA = recorder();
      const inB = recorder();
      must(await a.subscribe("*", inA.subscriber), "subscribe a");
      must(await b.subscribe("*", inB.subscriber), "subscribe b");
      await a.add("x", "integer", 1);
      await b.add("y", "integer", 1);
      await eventually(
        () => inA.events.length >= 1 && inB.events.length >= 1,
        timeoutMs,
        "events in both sessions",
      );
      await sleep(5);
      assert.deepEqual(names(inA.events), ["x"]);
      assert.deepEqual(names(inB.events), ["y"]);
    },
  },
];

/** Events together with reads, batches, globs and clocks. */
export const eventCombinationTests: ConformanceTest[] = [
  {
    name: "[streaming] while a multi-item batch is announced, a subscriber reads the whole batch committed (where atomic)",
    requires: "streaming",
    async run({ open, timeoutMs, capabilities }) {
      const s = await open();
      await s.add("a", "integer", 1);
      await s.add("b", "integer", 1);
      await s.add("c", "integer", 1);
      const reads: Promise<unknown>[] = [];
      must(
        await s.subscribe("*", (event) => {
          // Read the other variables the moment the first item is heard.
          if (event.name === "a" && event.version === 2)
            reads.push(s.provider.getVariables(s.state, ["a", "b", "c"]));
        }),
        "subscribe",
      );
      must(await s.update({ a: 2, b: 2, c: 2 }), "updateVariables");
      await eventually(() => reads.length > 0, timeoutMs, "the event for a");
      const [read] = (await Promise.all(reads)) as Result<Record<string, unknown>>[];
      const seen = { ...must(read!, "getVariables inside the event") };
      // An atomic batch is one commit; a non-atomic backend commits item by item.
      if (capabilities.atomicUpdates)
        assert.deepEqual(
          seen,
          { a: 2, b: 2, c: 2 },
          "the batch was announced before all of it committed",
        );
      else assert.equal(seen.a, 2, "a was announced before it committed");
    },
  },
  {
    name: "[streaming] inside a registered event the new variable resolves by name and by id",
    requires: "streaming",
    async run({ open, timeoutMs }) {
      const s = await open();
      const reads: Promise<[Result<unknown>, Result<unknown>]>[] = [];
      must(
        await s.subscribe("*", (event) => {
          if (event.kind === "registered")
            reads.push(
              Promise.all([
                s.provider.getVariable(s.state, event.name),
                s.provider.getVariable(s.state, event.id),
              ]),
            );
        }),
        "subscribe",
      );
      await s.add("fresh", "string", "here");
      await eventually(() => reads.length > 0, timeoutMs, "the registered event");
      const [[byName, byId]] = (await Promise.all(reads)) as [[Result<unknown>, Result<unknown>]];
      assert.equal(must(byName, "getVariable by name inside the event"), "here");
      assert.equal(must(byId, "getVariable by id inside the event"), "here");
    },
  },
  {
    name: "[streaming] patterns are case-sensitive and regex metacharacters are literal, in patterns and in names",
    requires: "streaming",
    async run({ open, timeoutMs }) {
      const s = await open();
      const patterns = [
        "lr",
        "LR*",
        "model.lr",
        "model.*",
        "l[r]",
        "a+b",
        "^lr$",
        "x|lr",
        "m?del.lr",
      ];
      const heard = new Map<string, string[]>();
      for (const pattern of patterns) {
        const list: string[] = [];
        heard.set(pattern, list);
        must(await s.subscribe(pattern, (e) => void list.push(e.name)), `subscribe ${pattern}`);
      }
      const all = recorder();
      must(await s.subscribe("*", all.subscriber), "subscribe *");
      const registered = [
        "lr",
        "LR",
        "LR_x",
        "lr_x",
        "model.lr",
        "modelXlr",
        "model_lr",
        "aab",
        "x",
      ];
      for (const name of registered) await s.add(name, "integer", 1);
      await eventually(() => all.events.length >= registered.length, timeoutMs, "every event");
      await sleep(5);
      assert.deepEqual(Object.fromEntries(heard), {
        lr: ["lr"],
        "LR*": ["LR", "LR_x"],
        "model.lr": ["model.lr"],
        "model.*": ["model.lr"],
        "l[r]": [],
        "a+b": [],
        "^lr$": [],
        "x|lr": [],
        "m?del.lr": ["model.lr"],
      });
    },
  },
  {
    name: "[streaming] an event's timestamp is its commit's: the record's updatedAt, or the time of deletion",
    requires: "streaming",
    async run({ open, timeoutMs }) {
      const s = await open();
      const { events, subscriber } = recorder();
      must(await s.subscribe("*", subscriber), "subscribe");
      const id = await s.add("clock", "integer", 1);
      await s.add("other", "integer", 1);
      const registered = await s.mustRecord(id);
      await sleep(5);
      must(await s.set(id, 2), "set");
      const updated = await s.mustRecord(id);
      await sleep(5);
      must(await s.update({ clock: 3, other: 2 }), "updateVariables");
      const batched = [await s.mustRecord(id), await s.mustRecord("other")];
      await sleep(5);
      const before = Date.now();
      must(await s.delete(id), "delete");
      const after = Date.now();
      await eventually(() => events.length >= 6, timeoutMs, "six events");
      const [onRegister, , onSet, onBatchClock, onBatchOther, onDelete] = events as VariableEvent[];
      assert.equal(onRegister!.timestamp, registered.updatedAt, "registered event timestamp");
      assert.equal(onRegister!.timestamp, registered.createdAt, "registered event vs createdAt");
      assert.equal(onSet!.timestamp, updated.updatedAt, "updated event timestamp");
      assert.equal(onBatchClock!.timestamp, batched[0]!.updatedAt, "batch event timestamp");
      assert.equal(onBatchOther!.timestamp, batched[1]!.updatedAt, "batch event timestamp");
      assert.ok(
        onDelete!.timestamp >= before && onDelete!.timestamp <= after,
        `deleted event timestamp ${onDelete!.timestamp} not in [${before}, ${after}]`,
      );
    },
  },
];
