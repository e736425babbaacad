import assert from "node:assert/strict";
import type { ExportedState, Result, VariableEvent } from "@dspex/state-provider";
import { type ConformanceTest, eventually, must, mustFail, recorder, sleep } from "../harness.js";

/*
 * Rules where backends once answered differently, so that every backend, a third party's
 * included, is held to one answer: caller arguments, session metadata at init and on import,
 * limits on what is stored, and the record every event carries.
 */

// biome-ignore lint/suspicious/noExplicitAny: the tests pass what the types forbid, on purpose.
type Loose = any;

const metadataOf = (entries: number, prefix: string) =>
  Object.fromEntries(Array.from({ length: entries }, (_, i) => [`${prefix}${i}`, "v"]));

export const argumentTests: ConformanceTest[] = [
  {
    name: "caller arguments: options that are not objects answer invalid_argument and change nothing",
    async run({ open }) {
      const s = await open();
      const p = s.provider;
      await s.add("a", "integer", 1);
      const calls: [string, () => Promise<Result<unknown>>][] = [
        ["registerVariable", () => p.registerVariable(s.state, "b", "integer", 1, "x" as Loose)],
        ["setVariable", () => p.setVariable(s.state, "a", 2, undefined, 5 as Loose)],
        ["updateVariables", () => p.updateVariables(s.state, { a: 3 }, undefined, "x" as Loose)],
        ["deleteVariable", () => p.deleteVariable(s.state, "a", 7 as Loose)],
      ];
      for (const [what, call] of calls) mustFail(await call(), "invalid_argument", what);
      const records = await s.mustList();
      assert.deepStrictEqual(
        records.map((r) => [r.name, r.version, r.value]),
        [["a", 1, 1]],
        "a refused call changed the session",
      );
    },
  },
  {
    name: "caller arguments: a requestId that is not 1 to 128 characters answers invalid_argument and changes nothing",
    async run({ open }) {
      const s = await open();
      const p = s.provider;
      await s.add("a", "integer", 1);
      for (const requestId of ["", "x".repeat(129), 42 as Loose]) {
        const calls: [string, () => Promise<Result<unknown>>][] = [
          ["registerVariable", () => p.registerVariable(s.state, "b", "integer", 1, { requestId })],
          ["setVariable", () => p.setVariable(s.state, "a", 2, undefined, { requestId })],
          ["updateVariables", () => p.updateVariables(s.state, { a: 3 }, undefined, { requestId })],
          ["deleteVariable", () => p.deleteVariable(s.state, "a", { requestId })],
        ];
        for (const [what, call] of calls) {
          const refused = mustFail(await call(), "invalid_argument", `${what} ${requestId}`);
          assert.match(refused.message, /requestId/, `${what}: the error names requestId`);
        }
      }
      const records = await s.mustList();
      assert.deepStrictEqual(
        records.map((r) => [r.name, r.version, r.value]),
        [["a", 1, 1]],
        "a refused call changed the session",
      );
      // A valid key is accepted by every call (kept or not is the backend's; see WriteOptions).
      const valid = { requestId: "conformance-key" };
      must(await p.registerVariable(s.state, "b", "integer", 1, valid), "a keyed registerVariable");
      must(await p.deleteVariable(s.state, "b", valid), "a keyed deleteVariable");
    },
  },
  {
    name: "caller arguments: an identifier that is not a string answers invalid_argument",
    async run({ open }) {
      const s = await open();
      const p = s.provider;
      await s.add("a", "integer", 1);
      const calls: [string, () => Promise<Result<unknown>>][] = [
        ["getVariable", () => p.getVariable(s.state, 42 as Loose)],
        ["getVariableRecord", () => p.getVariableRecord(s.state, null as Loose)],
        ["setVariable", () => p.setVariable(s.state, 42 as Loose, 2)],
        ["deleteVariable", () => p.deleteVariable(s.state, {} as Loose)],
        ["getVariables with a non-string item", () => p.getVariables(s.state, ["a", 42 as Loose])],
      ];
      for (const [what, call] of calls) mustFail(await call(), "invalid_argument", what);
      assert.equal((await s.mustRecord("a")).version, 1, "a refused call changed the variable");
    },
  },
  {
    name: "caller arguments: updateVariables with updates that are not a plain object answers invalid_argument",
    async run({ open }) {
      const s = await open();
      await s.add("a", "integer", 1);
      for (const updates of [[1], "a", null, new Map([["a", 2]])]) {
        mustFail(
          await s.provider.updateVariables(s.state, updates as Loose),
          "invalid_argument",
          `updateVariables(${Object.prototype.toString.call(updates)})`,
        );
      }
      assert.equal((await s.mustRecord("a")).version, 1, "a refused batch changed the variable");
    },
  },
  {
    name: "caller arguments: init with a session id that is empty, not a string or not well-formed Unicode answers invalid_argument",
    async run({ provider }) {
      for (const sessionId of ["", 42, "bad\ud800id"]) {
        const result = await provider.init({ sessionId: sessionId as Loose });
        if (result.ok) await provider.cleanup(result.value);
        mustFail(result, "invalid_argument", `init({ sessionId: ${JSON.stringify(sessionId)} })`);
      }
    },
  },
  {
    name: "[streaming] caller arguments: subscribe with the empty pattern, a pattern that is not a string or a subscriber that is not a function answers invalid_argument",
    requires: "streaming",
    async run({ open, timeoutMs }) {
      const s = await open();
      const { events, subscriber } = recorder();
      for (const [what, pattern, callback] of [
        ["the empty pattern", "", subscriber],
        ["a number as pattern", 7, subscriber],
        ["a string as subscriber", "*", "callback"],
      ] as const) {
        mustFail(await s.subscribe(pattern as Loose, callback as Loose), "invalid_argument", what);
      }
      // Nothing refused was subscribed: a change reaches no one of them.
      const all = recorder();
      must(await s.subscribe("*", all.subscriber), "subscribe *");
      await s.add("a", "integer", 1);
      await eventually(() => all.events.length === 1, timeoutMs, "the registration");
      await sleep(5);
      assert.equal(events.length, 0, "a refused subscription heard an event");
    },
  },
];

export const sessionMetadataTests: ConformanceTest[] = [
  {
    name: "session metadata: init metadata is the session's metadata in the export",
    async run({ open }) {
      const s = await open({ metadata: { owner: "ana", stage: "tuning" } });
      const document = must(await s.export(), "exportState");
      assert.deepStrictEqual({ ...document.metadata }, { owner: "ana", stage: "tuning" });
    },
  },
  {
    name: "session metadata: init with existingState merges the caller's metadata over the document's",
    async run({ open }) {
      const source = await open({ metadata: { kept: "doc", both: "doc" } });
      await source.add("a", "integer", 1);
      const document = must(await source.export(), "exportState");
      const target = await open({
        existingState: document,
        metadata: { both: "caller", added: "caller" },
      });
      const merged = must(await target.export(), "exportState of the new session");
      assert.deepStrictEqual(
        { ...merged.metadata },
        { kept: "doc", both: "caller", added: "caller" },
        "the document's entries stay, the caller's win where both name a key",
      );
      assert.equal((await target.mustRecord("a")).value, 1, "the document's variables came along");
    },
  },
  {
    name: "session metadata: init with existingState and no sessionId holds the document's session",
    async run({ open, close, provider, within }) {
      const source = await open();
      await source.add("a", "integer", 1);
      const document = must(await source.export(), "exportState");
      await close(source);
      const reopened = must(
        await within(provider.init({ existingState: document }), `${provider.name}.init`),
        "init with existingState and no sessionId",
      );
      try {
        const again = must(await provider.exportState(reopened), "exportState");
        assert.equal(again.sessionId, document.sessionId, "the session id is the document's");
      } finally {
        await within(Promise.resolve(provider.cleanup(reopened)), `${provider.name}.cleanup`);
      }
    },
  },
  {
    name: "session metadata: importState merges the document's session metadata (its entries win)",
    async run({ open }) {
      const source = await open({ metadata: { both: "doc", added: "doc" } });
      const document = must(await source.export(), "exportState");
      const target = await open({ metadata: { kept: "mine", both: "mine" } });
      must(await target.import(document), "importState");
      const merged = must(await target.export(), "exportState");
      assert.deepStrictEqual({ ...merged.metadata }, { kept: "mine", both: "doc", added: "doc" });
    },
  },
  {
    name: "stored limits: a record's metadata cannot grow past 256 entries over several sets",
    async run({ open }) {
      const s = await open();
      await s.add("a", "integer", 1, { metadata: metadataOf(200, "first") });
      const refused = mustFail(
        await s.set("a", 2, metadataOf(100, "second")),
        "limit_exceeded",
        "a set that grows metadata to 300 entries",
      );
      assert.equal(refused.limit, "maxMetadataEntries");
      assert.equal(refused.max, 256);
      const kept = await s.mustRecord("a");
      assert.equal(kept.version, 1, "the refused set moved the version");
      assert.equal(Object.keys(kept.metadata).length, 200, "the refused set merged metadata");
      must(await s.set("a", 2, metadataOf(56, "second")), "a set that fills metadata to 256");
      assert.equal(Object.keys((await s.mustRecord("a")).metadata).length, 256);
    },
  },
  {
    name: "stored limits: metadata of more than 64 KiB is refused with limit_exceeded and changes nothing",
    async run({ open }) {
      const s = await open();
      await s.add("a", "integer", 1);
      const refused = mustFail(
        await s.set("a", 2, { note: "x".repeat(70_000) }),
        "limit_exceeded",
        "a set with a 70 000-byte metadata value",
      );
      assert.equal(refused.limit, "maxMetadataBytes");
      const kept = await s.mustRecord("a");
      assert.equal(kept.version, 1);
      assert.deepStrictEqual({ ...kept.metadata }, {});
    },
  },
  {
    name: "stored limits: an import of a record with 300 metadata entries, or init with 300 session entries, is refused",
    async run({ open, provider }) {
      const source = await open();
      const id = await source.add("a", "integer", 1);
      const document = must(await source.export(), "exportState");
      const variable = document.variables[id]!;
      const edited: ExportedState = {
        ...document,
        variables: { [id]: { ...variable, metadata: metadataOf(300, "k") } },
      };
      const target = await open();
      await target.add("b", "integer", 1);
      mustFail(await target.import(edited), "limit_exceeded", "importState");
      assert.deepStrictEqual(
        (await target.mustList()).map((r) => r.name),
        ["b"],
        "the refused import changed the session",
      );
      const init = await provider.init({ metadata: metadataOf(300, "s") });
      if (init.ok) await provider.cleanup(init.value);
      mustFail(init, "limit_exceeded", "init with 300 session metadata entries");
    },
  },
];

export const eventRecordTests: ConformanceTest[] = [
  {
    name: "[streaming] every event carries its committed record: true constraints for a change a batch superseded and for a deletion",
    requires: "streaming",
    async run({ open, timeoutMs }) {
      const s = await open();
      const { events, subscriber } = recorder();
      must(await s.subscribe("*", subscriber), "subscribe");
      const constraints = { min: 0, max: 10 };
      const id = await s.add("x", "integer", 0, { constraints });
      // One batch writes x twice (by name, then by id): the first change is superseded.
      must(await s.update({ x: 1, [id]: 2 }), "updateVariables");
      must(await s.delete("x"), "deleteVariable");
      await eventually(
        () => events.length >= 4,
        timeoutMs,
        `expected 4 events, got ${events.length}`,
      );
      await sleep(5);
      assert.deepStrictEqual(
        events.map((e) => [e.kind, e.version, e.value]),
        [
          ["registered", 1, 0],
          ["updated", 2, 1],
          ["updated", 3, 2],
          ["deleted", 3, 2],
        ],
      );
      for (const event of events as VariableEvent[]) {
        const what = `the ${event.kind} event of version ${event.version}`;
        assert.ok(event.record !== undefined, `${what} carries no record`);
        assert.equal(event.record.id, id, what);
        assert.equal(event.record.name, "x", what);
        assert.equal(event.record.version, event.version, what);
        assert.deepStrictEqual(event.record.value, event.value, what);
        assert.deepStrictEqual({ ...event.record.constraints }, constraints, what);
      }
    },
  },
];
