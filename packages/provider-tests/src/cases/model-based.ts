import assert from "node:assert/strict";
import {
  type ExportedState,
  type Result,
  toJsonValue,
  type VariableEvent,
  type VariableRecord,
  type VariableType,
} from "@dspex/state-provider";
import fc from "fast-check";
import { type ConformanceTest, eventually, plainRecord, type Session, sleep } from "../harness.js";
import {
  ContractModel,
  checkModelValue,
  type Expected,
  type ModelConstraints,
  type ModelEvent,
  type ModelRecord,
  type ModelType,
} from "../model.js";

/** The model-based test's name; `modelRuns` / `modelSeed` tune it. */
export const MODEL_TEST_NAME =
  "model-based: random command sequences agree with the reference model (results, error codes, records, events)";

export const DEFAULT_MODEL_RUNS = 60;
const MAX_STEPS = 16;
const SHRINK_BUDGET_MS = 10_000;

/*
 * Generators favour the hard cases: names that differ only in case or carry regex
 * metacharacters, strings outside the BMP, numbers at and near the bounds, NaN, patterns that
 * are searches, choices that differ in case.
 */
const NAMES = ["lr", "LR", "model.lr", "modelXlr", "model_lr", "a-b", "a.b", "aXb", "x", "X"];
const PATTERNS = [
  "*",
  "lr",
  "LR",
  "model.lr",
  "model.*",
  "*.lr",
  "m?del?lr",
  "a.b",
  "a-b",
  "l[r]",
  "^lr$",
  "x|lr",
  "a+b",
  "?",
  "X*",
];

interface VariableKind {
  readonly type: ModelType;
  readonly constraints: () => Record<string, unknown> | undefined;
  readonly initial: unknown;
}
const KINDS: readonly VariableKind[] = [
  { type: "float", constraints: () => ({ min: 0, max: 1 }), initial: 0.5 },
  { type: "float", constraints: () => undefined, initial: 0 },
  { type: "integer", constraints: () => ({ min: -3, max: 3 }), initial: 1 },
  { type: "integer", constraints: () => undefined, initial: 2 },
  { type: "string", constraints: () => ({ minLength: 1, maxLength: 3 }), initial: "a" },
  { type: "string", constraints: () => ({ pattern: "b" }), initial: "b" },
  { type: "string", constraints: () => ({ pattern: "^a" }), initial: "a" },
  { type: "string", constraints: () => ({ enum: ["a", "A"] }), initial: "a" },
  { type: "choice", constraints: () => ({ choices: ["a", "A", "b"] }), initial: "A" },
  { type: "choice", constraints: () => ({ choices: ["Low", "high"] }), initial: "Low" },
  { type: "boolean", constraints: () => undefined, initial: true },
  { type: "embedding", constraints: () => ({ dimensions: 2 }), initial: [0, 1] },
];

const VALUES: readonly unknown[] = [
  0,
  -0,
  1,
  -1,
  3,
  -3,
  4,
  0.5,
  1 + 1e-10,
  3 - 1e-12,
  1.0000000000000002,
  -Number.EPSILON,
  2 ** 53 - 1,
  2 ** 53,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  2n,
  "1",
  "",
  "a",
  "A",
  "b",
  "ab",
  "abc",
  "abcd",
  "ba",
  "Ab",
  "😀",
  "😀😀😀",
  "😀😀😀😀",
  "Low",
  "low",
  "high",
  "HIGH",
  true,
  false,
  null,
  [0, 1],
  [1],
  [0.5, -0],
  [1, Number.NaN],
  [1, 2, 3],
];

type Ref = { readonly by: "name" | "id" | "swapcase" | "unknown"; readonly index: number };
type Expectation = "none" | "current" | "stale" | "ahead" | "zero";
type Edit =
  | { readonly kind: "none" }
  | { readonly kind: "rename"; readonly index: number; readonly name: string }
  | { readonly kind: "swap"; readonly a: number; readonly b: number }
  | { readonly kind: "value"; readonly index: number; readonly value: unknown }
  | { readonly kind: "metadata"; readonly index: number; readonly metadata: Record<string, string> }
  | { readonly kind: "bump"; readonly index: number }
  | { readonly kind: "only"; readonly index: number }
  | { readonly kind: "copy"; readonly index: number; readonly name: string };

type Step =
  | {
      readonly op: "register";
      readonly name: string;
      readonly kind: number;
      readonly value: unknown;
      readonly metadata: Record<string, string> | undefined;
    }
  | {
      readonly op: "set";
      readonly ref: Ref;
      readonly value: unknown;
      readonly metadata: Record<string, string> | undefined;
      readonly expect: Expectation;
    }
  | {
      readonly op: "batch";
      readonly entries: readonly { ref: Ref; value: unknown; expect: Expectation }[];
      readonly metadata: Record<string, string> | undefined;
      readonly withVersions: boolean;
    }
  | {
      readonly op: "twice";
      readonly index: number;
      readonly values: readonly [unknown, unknown];
      readonly expect: readonly [Expectation, Expectation];
    }
  | { readonly op: "delete"; readonly ref: Ref }
  | { readonly op: "export" }
  | { readonly op: "import"; readonly edit: Edit }
  | { readonly op: "subscribe"; readonly pattern: string; readonly throws: boolean }
  | { readonly op: "unsubscribe"; readonly index: number };

const metadataArb = fc.constantFrom<Record<string, string> | undefined>(
  undefined,
  {},
  { source: "python" },
  { k: "v" },
  { k: "V", source: "optimizer" },
);
const valueArb = fc.constantFrom(...VALUES);
const refArb: fc.Arbitrary<Ref> = fc.record({
  by: fc.constantFrom("name", "name", "id", "swapcase", "unknown"),
  index: fc.nat(7),
});
const expectationArb = fc.constantFrom<Expectation>(
  "none",
  "none",
  "current",
  "current",
  "stale",
  "ahead",
  "zero",
);
const editArb: fc.Arbitrary<Edit> = fc.oneof(
  fc.constant({ kind: "none" as const }),
  fc.record({
    kind: fc.constant("rename" as const),
    index: fc.nat(7),
    name: fc.constantFrom(...NAMES),
  }),
  fc.record({ kind: fc.constant("swap" as const), a: fc.nat(7), b: fc.nat(7) }),
  fc.record({ kind: fc.constant("value" as const), index: fc.nat(7), value: valueArb }),
  fc.record({
    kind: fc.constant("metadata" as const),
    index: fc.nat(7),
    metadata: fc.constantFrom({}, { other: "x" }, { source: "import" }),
  }),
  fc.record({ kind: fc.constant("bump" as const), index: fc.nat(7) }),
  fc.record({ kind: fc.constant("only" as const), index: fc.nat(7) }),
  fc.record({
    kind: fc.constant("copy" as const),
    index: fc.nat(7),
    name: fc.constantFrom(...NAMES),
  }),
);

const subscribeArb = fc.record({
  op: fc.constant("subscribe" as const),
  pattern: fc.constantFrom(...PATTERNS),
  throws: fc.constantFrom(false, false, false, true),
});

/** A run: often a subscription first (so writes are heard), then the commands. */
export function sequenceArb(streaming: boolean): fc.Arbitrary<Step[]> {
  const body = fc.array(stepArb(streaming), { minLength: 1, maxLength: MAX_STEPS, size: "max" });
  if (!streaming) return body;
  return fc
    .tuple(fc.option(subscribeArb, { freq: 2 }), body)
    .map(([first, rest]) => (first === null ? rest : [first, ...rest]));
}

function stepArb(streaming: boolean): fc.Arbitrary<Step> {
  const steps: fc.WeightedArbitrary<Step>[] = [
    {
      weight: 5,
      arbitrary: fc.record({
        op: fc.constant("register" as const),
        name: fc.constantFrom(...NAMES),
        kind: fc.nat(KINDS.length - 1),
        value: fc.oneof(
          { arbitrary: fc.constant(undefined), weight: 3 },
          { arbitrary: valueArb, weight: 2 },
        ),
        metadata: metadataArb,
      }),
    },
    {
      weight: 5,
      arbitrary: fc.record({
        op: fc.constant("set" as const),
        ref: refArb,
        value: valueArb,
        metadata: metadataArb,
        expect: expectationArb,
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        op: fc.constant("batch" as const),
        entries: fc.array(fc.record({ ref: refArb, value: valueArb, expect: expectationArb }), {
          minLength: 1,
          maxLength: 4,
        }),
        metadata: metadataArb,
        withVersions: fc.boolean(),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant("twice" as const),
        index: fc.nat(7),
        values: fc.tuple(valueArb, valueArb),
        expect: fc.tuple(expectationArb, expectationArb),
      }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("delete" as const), ref: refArb }) },
    { weight: 1, arbitrary: fc.constant({ op: "export" as const }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant("import" as const), edit: editArb }) },
  ];
  if (streaming) {
    steps.push(
      {
        weight: 2,
        arbitrary: subscribeArb,
      },
      {
        weight: 1,
        arbitrary: fc.record({ op: fc.constant("unsubscribe" as const), index: fc.nat(3) }),
      },
    );
  }
  return fc.oneof(...steps);
}

const swapCase = (name: string) =>
  Array.from(name, (c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join("");

/** One run: a fresh session and a fresh model, every step compared. */
class Run {
  readonly model: ContractModel;
  readonly heard = new Map<string, VariableEvent[]>();
  readonly expectedHeard = new Map<string, ModelEvent[]>();
  /** Timestamps seen, per id, to check that they move only when they should. */
  readonly times = new Map<string, { createdAt: number; updatedAt: number }>();
  nextImportId = 0;
  /** Set by the runner before each step: imports keep the document's timestamps. */
  lastWasImport = false;
  /** How many events each subscription had heard before the current step. */
  heardBefore = new Map<string, number>();

  constructor(
    readonly s: Session,
    capabilities: { atomicUpdates: boolean; compareAndSet: boolean; streaming: boolean },
    readonly timeoutMs: number,
    readonly within: <T>(promise: Promise<T>, what: string) => Promise<T>,
  ) {
    this.model = new ContractModel(capabilities);
  }

  identifier(ref: Ref): string {
    const records = this.model.records;
    if (ref.by === "unknown" || records.length === 0) return `ghost_${ref.index}`;
    const record = records[ref.index % records.length]!;
    if (ref.by === "id") return record.id;
    if (ref.by === "swapcase") return swapCase(record.name);
    return record.name;
  }

  expectedVersion(identifier: string, expectation: Expectation): number | undefined {
    const version = this.model.resolve(identifier)?.version ?? 1;
    switch (expectation) {
      case "none":
        return undefined;
      case "current":
        return version;
      case "stale":
        return Math.max(0, version - 1);
      case "ahead":
        return version + 1;
      case "zero":
        return 0;
    }
  }

  async step(step: Step, index: number): Promise<void> {
    const what = `step ${index + 1} ${describeStep(step)}`;
    const started = Date.now();
    this.model.events = [];
    const call = <T>(promise: Promise<Result<T>>) => this.within(promise, what);
    const s = this.s;
    switch (step.op) {
      case "register": {
        const kind = KINDS[step.kind]!;
        const constraints = kind.constraints();
        const value = step.value === undefined ? kind.initial : step.value;
        let newId: string | undefined;
        const options = {
          ...(constraints ? { constraints } : {}),
          ...(step.metadata ? { metadata: step.metadata } : {}),
        };
        const given = callerCopy(value);
        const actual = await call(s.register(step.name, kind.type as VariableType, given, options));
        if (actual.ok) newId = actual.value.id;
        tamper(given);
        // The caller may reuse its objects: the stored constraints must not follow them.
        if (constraints) scramble(constraints);
        const expected = this.model.register(
          () => newId ?? "(no id)",
          step.name,
          kind.type,
          value,
          constraints ? (JSON.parse(JSON.stringify(kind.constraints())) as ModelConstraints) : {},
          step.metadata ?? {},
        );
        compareResult(actual, expected, what);
        break;
      }
      case "set": {
        const identifier = this.identifier(step.ref);
        const expectedVersion = this.expectedVersion(identifier, step.expect);
        const given = callerCopy(step.value);
        const actual = await call(
          s.set(
            identifier,
            given,
            step.metadata,
            expectedVersion === undefined ? undefined : { expectedVersion },
          ),
        );
        tamper(given);
        const expected = this.model.set(identifier, step.value, step.metadata, expectedVersion);
        compareResult(
          actual.ok ? { ok: true, value: actual.value.version } : actual,
          expected,
          what,
        );
        break;
      }
      case "batch":
      case "twice": {
        const entries =
          step.op === "batch"
            ? step.entries.map((e) => ({
                identifier: this.identifier(e.ref),
                value: e.value,
                expect: e.expect,
              }))
            : this.twiceEntries(step);
        const updates = Object.fromEntries(entries.map((e) => [e.identifier, e.value]));
        const given = Object.fromEntries(entries.map((e) => [e.identifier, callerCopy(e.value)]));
        const withVersions = step.op === "twice" || step.withVersions;
        const expectedVersions = withVersions
          ? Object.fromEntries(
              entries
                .map((e) => [e.identifier, this.batchExpectation(entries, e)] as const)
                .filter((e): e is readonly [string, number] => e[1] !== undefined),
            )
          : undefined;
        const hasVersions =
          expectedVersions !== undefined && Object.keys(expectedVersions).length > 0;
        const metadata = step.op === "batch" ? step.metadata : undefined;
        const actual = await call(
          s.update(given, metadata, hasVersions ? { expectedVersions } : undefined),
        );
        for (const value of Object.values(given)) tamper(value);
        const expected = this.model.update(
          updates,
          metadata,
          hasVersions ? expectedVersions : undefined,
        );
        compareResult(
          actual.ok ? { ok: true, value: { ...actual.value.versions } } : actual,
          expected,
          what,
        );
        break;
      }
      case "delete": {
        const identifier = this.identifier(step.ref);
        compareResult(await call(s.delete(identifier)), this.model.delete(identifier), what);
        break;
      }
      case "export": {
        const actual = await call(s.export());
        compareResult(actual, { ok: true }, what);
        if (actual.ok) await this.compareExport(actual.value, what);
        break;
      }
      case "import": {
        const exported = await call(s.export());
        compareResult(exported, { ok: true }, `${what}: export`);
        if (!exported.ok) break;
        const { document, records, invalid } = this.edit(exported.value, step.edit);
        const actual = await call(s.import(document));
        compareResult(actual, this.model.import(records, invalid), what);
        break;
      }
      case "subscribe": {
        const events: VariableEvent[] = [];
        const actual = await call(
          s.subscribe(step.pattern, (e) => {
            events.push(e);
            // A throwing subscriber must not break the writer or the subscribers after it.
            if (step.throws) throw quietError("model subscriber failure (expected)");
          }),
        );
        compareResult(actual, { ok: true }, what);
        this.model.events = [];
        if (actual.ok) {
          this.heard.set(actual.value, events);
          this.expectedHeard.set(actual.value, []);
          this.model.subscriptions.push({ id: actual.value, pattern: step.pattern });
        }
        break;
      }
      case "unsubscribe": {
        const subscriptions = this.model.subscriptions;
        const target =
          subscriptions.length === 0
            ? "sub_never_made"
            : subscriptions[step.index % subscriptions.length]!.id;
        compareResult(await call(s.unsubscribe(target)), { ok: true }, what);
        this.model.subscriptions = subscriptions.filter((sub) => sub.id !== target);
        this.model.events = [];
        break;
      }
    }
    for (const { id, pattern } of this.model.subscriptions)
      this.expectedHeard.get(id)!.push(...this.model.heard(pattern));
    await this.compareState(what, started);
  }

  twiceEntries(step: Extract<Step, { op: "twice" }>) {
    const records = this.model.records;
    if (records.length === 0)
      return [{ identifier: "ghost_twice", value: step.values[0], expect: step.expect[0] }];
    const record = records[step.index % records.length]!;
    return [
      { identifier: record.name, value: step.values[0], expect: step.expect[0] },
      { identifier: record.id, value: step.values[1], expect: step.expect[1] },
    ];
  }

  /** A later entry for the same variable expects the version after the earlier entry's write. */
  batchExpectation(
    entries: readonly { identifier: string; expect: Expectation }[],
    entry: { identifier: string; expect: Expectation },
  ): number | undefined {
    const target = this.model.resolve(entry.identifier);
    const before = entries
      .slice(0, entries.indexOf(entry))
      .filter((e) => target && this.model.resolve(e.identifier)?.id === target.id).length;
    const base = this.expectedVersion(entry.identifier, entry.expect);
    return base === undefined ? undefined : base + (entry.expect === "zero" ? 0 : before);
  }

  /** Applies an edit to an exported document; answers what the model should import. */
  edit(exported: ExportedState, edit: Edit) {
    const document = JSON.parse(JSON.stringify(exported)) as {
      variables: Record<string, Record<string, unknown>>;
      variableIndex: Record<string, string>;
    } & Record<string, unknown>;
    const ids = Object.keys(document.variables);
    const pick = (i: number) => (ids.length === 0 ? undefined : ids[i % ids.length]!);
    let invalid = false;
    let records: ModelRecord[] = ids.map((id) => this.model.resolveId(id)!).filter(Boolean);
    const change = (id: string, patch: Partial<ModelRecord>, wire: Record<string, unknown>) => {
      Object.assign(document.variables[id]!, wire);
      records = records.map((r) => (r.id === id ? { ...r, ...patch } : r));
    };
    switch (edit.kind) {
      case "none":
        break;
      case "rename": {
        const id = pick(edit.index);
        if (id) change(id, { name: edit.name }, { name: edit.name });
        break;
      }
      case "swap": {
        const a = pick(edit.a);
        const b = pick(edit.b);
        if (a && b && a !== b) {
          const nameA = document.variables[a]!.name as string;
          const nameB = document.variables[b]!.name as string;
          change(a, { name: nameB }, { name: nameB });
          change(b, { name: nameA }, { name: nameA });
        }
        break;
      }
      case "value": {
        const id = pick(edit.index);
        if (!id) break;
        const record = records.find((r) => r.id === id)!;
        const checked = checkModelValue(record.type, record.constraints, edit.value);
        if (!checked.ok) {
          invalid = true;
          document.variables[id]!.value = jsonSafe(edit.value) ? edit.value : { not: "a value" };
        } else {
          change(
            id,
            { value: checked.value },
            { value: toJsonValue(record.type, checked.value as never) },
          );
        }
        break;
      }
      case "metadata": {
        const id = pick(edit.index);
        if (id) change(id, { metadata: edit.metadata }, { metadata: edit.metadata });
        break;
      }
      case "bump": {
        const id = pick(edit.index);
        if (id) {
          const version = (document.variables[id]!.version as number) + 3;
          change(id, { version }, { version });
        }
        break;
      }
      case "only": {
        const id = pick(edit.index);
        if (id) {
          document.variables = { [id]: document.variables[id]! };
          records = records.filter((r) => r.id === id);
        }
        break;
      }
      case "copy": {
        const id = pick(edit.index);
        if (id) {
          const copyId = `imported_${++this.nextImportId}_${ids.length}`;
          document.variables[copyId] = { ...document.variables[id]!, id: copyId, name: edit.name };
          const source = records.find((r) => r.id === id)!;
          records.push({ ...source, id: copyId, name: edit.name });
        }
        break;
      }
    }
    document.variableIndex = Object.fromEntries(
      Object.values(document.variables).map((v) => [v.name as string, v.id as string]),
    );
    return { document, records, invalid };
  }

  async compareExport(exported: ExportedState, what: string) {
    assert.equal(exported.sessionId, this.s.sessionId, `${what}: export sessionId`);
    const list = await this.within(this.s.list(), what);
    assert.ok(list.ok, `${what}: listVariables failed`);
    assert.deepEqual(
      Object.keys(exported.variables),
      list.value.map((r) => r.id),
      `${what}: export order`,
    );
    assert.deepEqual(
      { ...exported.variableIndex },
      Object.fromEntries(list.value.map((r) => [r.name, r.id])),
      `${what}: variableIndex`,
    );
    for (const record of list.value) {
      const variable = exported.variables[record.id]!;
      assert.deepStrictEqual(
        { version: variable.version, createdAt: variable.createdAt, updatedAt: variable.updatedAt },
        { version: record.version, createdAt: record.createdAt, updatedAt: record.updatedAt },
        `${what}: exported ${record.name}`,
      );
    }
  }

  /** Stored records, identifier resolution and the events heard, against the model. */
  async compareState(what: string, started: number) {
    const list = await this.within(this.s.list(), `${what}: listVariables`);
    assert.ok(list.ok, `${what}: listVariables failed`);
    const actual = list.value.map(comparable);
    const expected = this.model.records.map((r) => ({ ...r, value: plain(r.value) }));
    assert.deepStrictEqual(actual, expected, `${what}: stored records differ from the model`);
    const finished = Date.now();
    const written = new Set(this.model.events.map((e) => e.record.id));
    for (const record of list.value)
      this.checkTimes(record, written.has(record.id), what, started, finished);
    // Names differing only in case, ids, and unknown identifiers resolve as the model says.
    const probes = [...NAMES, ...this.model.records.map((r) => r.id), ...NAMES.map(swapCase)];
    const values = await this.within(this.s.getMany(probes), `${what}: getVariables`);
    assert.ok(values.ok, `${what}: getVariables failed`);
    const expectedValues = Object.fromEntries(
      probes.flatMap((p) => {
        const r = this.model.resolve(p);
        return r ? [[p, plain(r.value)]] : [];
      }),
    );
    assert.deepStrictEqual(
      Object.fromEntries(Object.entries(values.value).map(([k, v]) => [k, plain(v)])),
      expectedValues,
      `${what}: getVariables of names, ids and case variants`,
    );
    await this.compareEvents(what, list.value, started, finished);
  }

  checkTimes(
    record: VariableRecord,
    written: boolean,
    what: string,
    started: number,
    finished: number,
  ) {
    const seen = this.times.get(record.id);
    this.times.set(record.id, { createdAt: record.createdAt, updatedAt: record.updatedAt });
    const label = `${what}: ${record.name}`;
    if (this.lastWasImport) {
      // The document came from this session's own export: imported records keep its timestamps.
      if (seen) {
        assert.equal(record.createdAt, seen.createdAt, `${label}: import changed createdAt`);
        assert.equal(record.updatedAt, seen.updatedAt, `${label}: import changed updatedAt`);
      }
      return;
    }
    if (!seen) {
      assert.ok(
        record.createdAt >= started - 1 && record.createdAt <= finished,
        `${label}: createdAt ${record.createdAt} is not the time of the call`,
      );
      assert.equal(record.updatedAt, record.createdAt, `${label}: updatedAt at registration`);
      return;
    }
    assert.equal(record.createdAt, seen.createdAt, `${label}: createdAt moved`);
    if (written)
      assert.ok(
        record.updatedAt >= Math.max(seen.updatedAt, started - 1) && record.updatedAt <= finished,
        `${label}: updatedAt ${record.updatedAt} is not the time of the write`,
      );
    else
      assert.equal(record.updatedAt, seen.updatedAt, `${label}: updatedAt moved without a write`);
  }

  async compareEvents(
    what: string,
    records: readonly VariableRecord[],
    started: number,
    finished: number,
  ) {
    for (const [id, expected] of this.expectedHeard) {
      const events = this.heard.get(id)!;
      await eventually(
        () => events.length >= expected.length,
        this.timeoutMs,
        `${what}: subscription ${id} heard ${events.length} events, the model ${expected.length}`,
      );
      assert.deepStrictEqual(
        events.map(comparableEvent),
        expected.map((e) => ({
          kind: e.kind,
          id: e.record.id,
          name: e.record.name,
          type: e.record.type,
          value: plain(e.record.value),
          previousValue: e.previousValue === undefined ? undefined : plain(e.previousValue),
          version: e.record.version,
          metadata: { ...e.record.metadata },
          source: e.record.source,
        })),
        `${what}: events heard by subscription ${id} (${this.model.subscriptions.find((s) => s.id === id)?.pattern ?? "unsubscribed"})`,
      );
      // An event's timestamp is its commit's: the record's updatedAt, or the time of deletion.
      // (Imported records keep the document's updatedAt; their events' time is not stated.)
      const fresh = events.slice(this.heardBefore.get(id) ?? 0);
      this.heardBefore.set(id, events.length);
      if (this.lastWasImport) continue;
      for (const event of fresh) {
        if (event.kind === "deleted") {
          assert.ok(
            event.timestamp >= started - 1 && event.timestamp <= finished,
            `${what}: deleted event for ${event.name} has timestamp ${event.timestamp}, not the call's time`,
          );
          continue;
        }
        const record = records.find((r) => r.id === event.id);
        if (record && record.version === event.version)
          assert.equal(
            event.timestamp,
            record.updatedAt,
            `${what}: ${event.kind} event for ${event.name} has timestamp ${event.timestamp}, its record's updatedAt is ${record.updatedAt}`,
          );
      }
    }
  }

  async finish(what: string) {
    await sleep(5);
    for (const [id, expected] of this.expectedHeard) {
      const events = this.heard.get(id)!;
      assert.equal(
        events.length,
        expected.length,
        `${what}: subscription ${id} heard extra events`,
      );
    }
  }
}

/** The caller's own copy of a value: the test changes it after the call. */
function callerCopy(value: unknown): unknown {
  return Array.isArray(value) ? [...value] : value;
}
function tamper(value: unknown): void {
  if (Array.isArray(value) && !Object.isFrozen(value)) value.fill(7);
}

/** An error whose stack is its message alone: a backend that logs it prints no stack trace. */
function quietError(message: string): Error {
  const error = new Error(message);
  error.stack = `Error: ${message}`;
  return error;
}

function jsonSafe(value: unknown): boolean {
  return typeof value !== "bigint" && !(typeof value === "number" && Number.isNaN(value));
}

/** Changes every constraint of an object a caller handed in. */
function scramble(constraints: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(constraints)) {
    if (Array.isArray(value)) value.push("zzz", "a", "Ab", "low");
    else if (typeof value === "number") constraints[key] = key.startsWith("min") ? -1e9 : 1e9;
    else if (typeof value === "string") constraints[key] = "";
  }
}

function plain(value: unknown): unknown {
  if (Array.isArray(value)) return [...value];
  return value;
}

function comparable(record: VariableRecord) {
  const p = plainRecord(record);
  return {
    id: p.id,
    name: p.name,
    type: p.type as ModelType,
    value: plain(p.value),
    constraints: JSON.parse(JSON.stringify(p.constraints)) as ModelConstraints,
    metadata: p.metadata,
    version: p.version,
    source: p.source,
  };
}

function comparableEvent(e: VariableEvent) {
  return {
    kind: e.kind,
    id: e.id,
    name: e.name,
    type: e.type,
    value: plain(e.value),
    previousValue: e.previousValue === undefined ? undefined : plain(e.previousValue),
    version: e.version,
    metadata: { ...e.metadata },
    source: e.source,
  };
}

function failureKey(error: { code: string; rule?: string }): string {
  return error.code === "validation_failed" ? `${error.code}:${error.rule}` : error.code;
}

function compareResult(actual: Result<unknown>, expected: Expected, what: string): void {
  if (expected.ok) {
    if (!actual.ok)
      assert.fail(
        `${what}: answered ${actual.error.code} (${actual.error.message}); the model says ok`,
      );
    if (expected.value !== undefined)
      assert.deepStrictEqual(actual.value, expected.value, `${what}: result value`);
    return;
  }
  if (actual.ok) assert.fail(`${what}: succeeded; the model says ${expected.codes.join(" or ")}`);
  const error = actual.error as unknown as Record<string, unknown> & {
    code: string;
    message: string;
  };
  assert.ok(
    expected.codes.includes(error.code),
    `${what}: answered ${error.code} (${error.message}); the model says ${expected.codes.join(" or ")}`,
  );
  if (expected.codes.length === 1 && expected.detail)
    for (const [key, value] of Object.entries(expected.detail))
      assert.deepStrictEqual(error[key], value, `${what}: error.${key}`);
  if (error.code === "partial_failure" && expected.batch) {
    const failed = error.failed as Record<
      string,
      { code: string; rule?: string; identifier?: string }
    >;
    const got = {
      failed: Object.fromEntries(Object.entries(failed).map(([k, e]) => [k, failureKey(e)])),
      applied: [...(error.applied as string[])],
    };
    const matches = (b: { failed: Record<string, string[]>; applied: string[] }) =>
      isDeepStrictEqual(Object.keys(b.failed), Object.keys(got.failed)) &&
      Object.entries(got.failed).every(([k, code]) => b.failed[k]?.includes(code)) &&
      isDeepStrictEqual(b.applied, got.applied);
    assert.ok(
      expected.batch.some(matches),
      `${what}: partial_failure ${JSON.stringify(got)}; the model says ${expected.batch.map((b) => JSON.stringify(b)).join(" or ")}`,
    );
    for (const [identifier, e] of Object.entries(failed)) {
      if (e.code === "not_found" || e.code === "version_conflict")
        assert.equal(
          e.identifier,
          identifier,
          `${what}: failed[${identifier}] names ${e.identifier}`,
        );
    }
  }
}

function isDeepStrictEqual(a: unknown, b: unknown): boolean {
  try {
    assert.deepStrictEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

function show(value: unknown): string {
  return fc.stringify(value);
}

export function describeStep(step: Step): string {
  switch (step.op) {
    case "register": {
      const kind = KINDS[step.kind]!;
      return `register(${show(step.name)}, ${kind.type} ${show(kind.constraints() ?? {})}, ${show(step.value === undefined ? kind.initial : step.value)}${step.metadata ? `, metadata ${show(step.metadata)}` : ""})`;
    }
    case "set":
      return `set(${show(step.ref)}, ${show(step.value)}${step.metadata ? `, ${show(step.metadata)}` : ""}, expected ${step.expect})`;
    case "batch":
      return `updateVariables(${step.entries.map((e) => `${show(e.ref)} → ${show(e.value)} (expected ${e.expect})`).join("; ")}${step.withVersions ? ", with expectedVersions" : ""})`;
    case "twice":
      return `updateVariables(variable #${step.index} by name → ${show(step.values[0])} (expected ${step.expect[0]}), by id → ${show(step.values[1])} (expected ${step.expect[1]}))`;
    case "delete":
      return `delete(${show(step.ref)})`;
    case "export":
      return "exportState()";
    case "import":
      return `importState(export edited by ${show(step.edit)})`;
    case "subscribe":
      return `subscribe(${show(step.pattern)}${step.throws ? ", a subscriber that throws" : ""})`;
    case "unsubscribe":
      return `unsubscribe(#${step.index})`;
  }
}

export const modelBasedTests: ConformanceTest[] = [
  {
    name: MODEL_TEST_NAME,
    minimumTimeoutMs: 120_000,
    async run({ open, close, capabilities, timeoutMs, within, model }) {
      const streaming = capabilities.streaming;
      const runs = model.runs;
      // Shrinking reruns sequences that may each wait out a timeout: after SHRINK_BUDGET_MS it
      // stops, keeping the shortest failing sequence found so far.
      let firstFailure: number | undefined;
      const property = fc.asyncProperty(sequenceArb(streaming), async (steps) => {
        if (firstFailure !== undefined && Date.now() - firstFailure > SHRINK_BUDGET_MS) return;
        const s = await open();
        const run = new Run(s, capabilities, timeoutMs, within);
        try {
          for (const [i, step] of steps.entries()) {
            run.lastWasImport = step.op === "import";
            await run.step(step, i);
          }
          await run.finish("after the last step");
        } catch (error) {
          firstFailure ??= Date.now();
          throw error;
        } finally {
          await close(s);
        }
      });
      const details = await fc.check(property, {
        numRuns: runs,
        ...(model.seed === undefined ? {} : { seed: model.seed }),
      });
      if (!details.failed) return;
      const shrunk = (details.counterexample?.[0] ?? []) as Step[];
      const cause =
        details.errorInstance instanceof Error
          ? details.errorInstance.message
          : String(details.errorInstance);
      // Steps after the one that failed never ran: they are not part of the case.
      const failedAt = Number(/^step (\d+) /.exec(cause)?.[1] ?? shrunk.length);
      const steps = shrunk.slice(0, failedAt);
      assert.fail(
        [
          `the backend disagrees with the model (seed ${details.seed}, run ${details.numRuns} of ${runs}, shrunk ${details.numShrinks} times): ${cause.split("\n")[0]}`,
          "shrunk command sequence:",
          ...steps.map((step, i) => `  ${i + 1}. ${describeStep(step)}`),
          `replay with the option modelSeed: ${details.seed}`,
        ].join("\n"),
      );
    },
  },
];
