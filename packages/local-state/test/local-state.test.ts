import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { unwrap, type VariableEvent } from "@dspex/state-provider";
import { describe, expect, test } from "vitest";
import { createLocalState, LocalState } from "../src/index.js";

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL("..", import.meta.url));

describe("LocalState specifics", () => {
  test("claims atomic updates, streaming, compare-and-set and history; no persistence, distribution or bridge", () => {
    expect(LocalState.capabilities()).toEqual({
      atomicUpdates: true,
      streaming: true,
      persistence: false,
      distribution: false,
      compareAndSet: true,
      history: true,
    });
    expect(LocalState.requiresBridge()).toBe(false);
  });

  test("keeps the last 100 versions per variable by default, maxVersionsPerVariable when given", async () => {
    for (const [provider, kept] of [
      [LocalState, 100],
      [createLocalState({ maxVersionsPerVariable: 3 }), 3],
    ] as const) {
      const state = unwrap(await provider.init());
      unwrap(await provider.registerVariable(state, "step", "integer", 0));
      for (let i = 1; i <= 120; i++) unwrap(await provider.setVariable(state, "step", i));
      const history = unwrap(await provider.getVariableHistory!(state, "step"));
      expect(history.length).toBe(kept);
      expect(history[0]?.version).toBe(121);
      expect(history.at(-1)?.version).toBe(122 - kept);
      await provider.cleanup(state);
    }
    expect(() => createLocalState({ maxVersionsPerVariable: 0 })).toThrow(/maxVersionsPerVariable/);
  });

  test("the state is one handle: every mutating call returns the handle it was given", async () => {
    const state = unwrap(await LocalState.init({ sessionId: "handle" }));
    const registered = unwrap(await LocalState.registerVariable(state, "x", "integer", 1));
    expect(registered.state).toBe(state);
    expect(unwrap(await LocalState.setVariable(state, "x", 2)).state).toBe(state);
    expect(unwrap(await LocalState.updateVariables(state, { x: 3 })).state).toBe(state);
    expect(unwrap(await LocalState.deleteVariable(state, "x")).state).toBe(state);
    await LocalState.cleanup(state);
  });

  test("ids are opaque var_<number>_<tag> strings, distinct across sessions", async () => {
    const a = unwrap(await LocalState.init());
    const b = unwrap(await LocalState.init());
    const idA = unwrap(await LocalState.registerVariable(a, "x", "integer", 1)).id;
    const idB = unwrap(await LocalState.registerVariable(b, "x", "integer", 1)).id;
    // The tag: this process's (6 hex digits), then the session's table number.
    expect(idA).toMatch(/^var_[0-9a-z]+_[0-9a-f]{6}[0-9a-z]+$/);
    expect(idA).not.toBe(idB);
    expect(a.sessionId).toMatch(/^local_/);
    await LocalState.cleanup(a);
    await LocalState.cleanup(b);
  });

  test("a new id never equals the name of an existing variable (the name would stop resolving)", async () => {
    const state = unwrap(await LocalState.init());
    const first = unwrap(await LocalState.registerVariable(state, "first", "integer", 1)).id;
    const [, counter, tag] = first.split("_");
    // The id the registration after the next one would get, taken as a name by the next one.
    const upcoming = `var_${(Number.parseInt(counter!, 36) + 2).toString(36)}_${tag}`;
    unwrap(await LocalState.registerVariable(state, upcoming, "string", "by name"));
    const third = unwrap(await LocalState.registerVariable(state, "third", "integer", 3)).id;
    expect(third).not.toBe(upcoming);
    expect(unwrap(await LocalState.getVariable(state, upcoming))).toBe("by name");
    await LocalState.cleanup(state);
  });

  test("wrong argument types answer an error and never throw", async () => {
    const state = unwrap(await LocalState.init());
    unwrap(await LocalState.registerVariable(state, "x", "integer", 1));
    const code = async (call: Promise<{ ok: boolean; error?: { code: string } }>) => {
      const result = await call;
      return result.ok ? "ok" : result.error?.code;
    };
    const anyArg = null as never;
    expect(await code(LocalState.init(anyArg))).toBe("ok");
    expect(await code(LocalState.init("s" as never))).toBe("invalid_argument");
    expect(await code(LocalState.registerVariable(state, "y", "integer", 1, anyArg))).toBe("ok");
    expect(await code(LocalState.registerVariable(state, "z", "integer", 1, 5 as never))).toBe(
      "invalid_argument",
    );
    expect(await code(LocalState.setVariable(state, "x", 2, undefined, anyArg))).toBe("ok");
    for (const expectedVersion of [-1, 1.5, "2", Number.NaN, null]) {
      const options = { expectedVersion } as never;
      expect(await code(LocalState.setVariable(state, "x", 3, undefined, options))).toBe(
        "invalid_argument",
      );
      const batch = { expectedVersions: { x: expectedVersion } } as never;
      expect(await code(LocalState.updateVariables(state, { x: 3 }, undefined, batch))).toBe(
        "invalid_argument",
      );
    }
    for (const expectedVersions of [null, 5, "x"]) {
      const batch = { expectedVersions } as never;
      expect(await code(LocalState.updateVariables(state, { x: 3 }, undefined, batch))).toBe(
        "invalid_argument",
      );
    }
    expect(await code(LocalState.updateVariables(state, { x: 3 }, undefined, anyArg))).toBe("ok");
    const record = unwrap(await LocalState.getVariableRecord(state, "x"));
    expect(record.value).toBe(3);
    expect(record.version).toBe(3);
    await LocalState.cleanup(state);
  });

  test("importState merges the document's session metadata, as SessionStore does", async () => {
    const source = unwrap(await LocalState.init({ metadata: { owner: "a", run: "1" } }));
    const target = unwrap(await LocalState.init({ metadata: { owner: "b", keep: "yes" } }));
    unwrap(await LocalState.importState(target, unwrap(await LocalState.exportState(source))));
    expect({ ...unwrap(await LocalState.exportState(target)).metadata }).toEqual({
      owner: "a",
      run: "1",
      keep: "yes",
    });
    await LocalState.cleanup(source);
    await LocalState.cleanup(target);
  });

  test("records and values handed out are frozen", async () => {
    const state = unwrap(await LocalState.init());
    unwrap(await LocalState.registerVariable(state, "v", "embedding", [1, 2]));
    const record = unwrap(await LocalState.getVariableRecord(state, "v"));
    expect(Object.isFrozen(record)).toBe(true);
    expect(Object.isFrozen(record.value)).toBe(true);
    expect(Object.isFrozen(unwrap(await LocalState.listVariables(state)))).toBe(true);
    await LocalState.cleanup(state);
  });

  test("a name like __proto__ is an ordinary key in getVariables and batch results", async () => {
    const state = unwrap(await LocalState.init());
    unwrap(await LocalState.registerVariable(state, "__proto__", "integer", 1));
    const values = unwrap(await LocalState.getVariables(state, ["__proto__"]));
    expect(Object.getPrototypeOf(values)).toBe(Object.prototype);
    expect(Object.keys(values)).toEqual(["__proto__"]);
    const versions = unwrap(await LocalState.updateVariables(state, { ["__proto__"]: 2 })).versions;
    expect(Object.keys(versions)).toEqual(["__proto__"]);
    await LocalState.cleanup(state);
  });

  test("subscriber errors go to onSubscriberError, never to the writer", async () => {
    const reported: [unknown, VariableEvent][] = [];
    const provider = createLocalState({
      onSubscriberError: (error, event) => void reported.push([error, event]),
    });
    const state = unwrap(await provider.init());
    unwrap(
      await provider.subscribe!(state, "*", () => {
        throw new Error("boom");
      }),
    );
    unwrap(await provider.registerVariable(state, "x", "integer", 1));
    expect(reported).toHaveLength(1);
    expect((reported[0]![0] as Error).message).toBe("boom");
    expect(reported[0]![1].name).toBe("x");
    await provider.cleanup(state);
  });

  test("bad arguments answer invalid_argument", async () => {
    const state = unwrap(await LocalState.init());
    expect((await LocalState.init({ sessionId: "" })).ok).toBe(false);
    const notArray = await LocalState.getVariables(state, "x" as unknown as string[]);
    expect(notArray.ok || notArray.error.code).toBe("invalid_argument");
    const notObject = await LocalState.updateVariables(
      state,
      null as unknown as Record<string, unknown>,
    );
    expect(notObject.ok || notObject.error.code).toBe("invalid_argument");
    const badPattern = await LocalState.subscribe!(state, "", () => {});
    expect(badPattern.ok || badPattern.error.code).toBe("invalid_argument");
    await LocalState.cleanup(state);
  });

  test("after cleanup the process exits on its own: nothing is left running", async () => {
    const script = `
      import { LocalState } from "./src/index.ts";
      const s = (await LocalState.init()).value;
      await LocalState.registerVariable(s, "x", "float", 0.5);
      await LocalState.subscribe(s, "*", () => {});
      await LocalState.setVariable(s, "x", 0.7);
      await LocalState.cleanup(s);
      console.log("cleaned");
    `;
    const { stdout } = await run(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", script],
      {
        cwd: packageDir,
        timeout: 20_000,
      },
    );
    expect(stdout.trim()).toBe("cleaned");
  }, 30_000);
});
