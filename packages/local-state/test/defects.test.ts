import { CONFORMANCE_TESTS, MODEL_TEST_NAME, providerTests } from "@dspex/provider-tests";
import {
  err,
  ok,
  StateErrors,
  type StateProvider,
  SubscriberSet,
  type VariableEvent,
} from "@dspex/state-provider";
import { afterAll, describe, expect, test } from "vitest";
import { createLocalState, type LocalStateHandle } from "../src/index.js";

/*
 * The real LocalState with one defect each, wrapped from outside: the suite has to catch every
 * one. (provider-tests checks itself the same way against a reference backend with 34 defects;
 * these prove the same holds for the backend we ship.)
 */

type Provider = StateProvider<LocalStateHandle>;
// Quiet: the suite's throwing-subscriber test would otherwise print once per defect.
const inner = createLocalState({ onSubscriberError: () => {} });
const leakedTimers = new Set<ReturnType<typeof setInterval>>();
afterAll(() => {
  for (const timer of leakedTimers) clearInterval(timer);
});

function defective(name: string, patch: Partial<Provider>): Provider {
  return { ...inner, ...patch, name: `LocalState(${name})` };
}

const DEFECTS: Record<string, { provider: Provider; caughtBy: string }> = {
  "a batch claims atomicity but applies item by item": {
    provider: defective("half-batch", {
      async updateVariables(state, updates) {
        const versions: Record<string, number> = {};
        for (const [identifier, value] of Object.entries(updates)) {
          const written = await inner.setVariable(state, identifier, value);
          if (!written.ok)
            return err(StateErrors.partialFailure({ [identifier]: written.error }, []));
          versions[identifier] = written.value.version;
        }
        return ok({ state, versions });
      },
    }),
    caughtBy:
      "[atomicUpdates] a failing batch applies nothing: values, versions and metadata unchanged",
  },
  "metadata dropped on set": {
    provider: defective("metadata-dropped", {
      setVariable: (state, identifier, value, _metadata, options) =>
        inner.setVariable(state, identifier, value, undefined, options),
    }),
    caughtBy: "metadata is preserved at registration and merged on set (new keys win)",
  },
  "a duplicate name replaces the variable": {
    provider: defective("duplicate-accepted", {
      async registerVariable(state, name, type, value, options) {
        const first = await inner.registerVariable(state, name, type, value, options);
        if (first.ok || first.error.code !== "already_exists") return first;
        await inner.deleteVariable(state, name);
        return inner.registerVariable(state, name, type, value, options);
      },
    }),
    caughtBy:
      "a duplicate name is rejected with already_exists and the existing variable is untouched",
  },
  "import re-registers variables instead of validating the document": {
    provider: defective("import-unvalidated", {
      async importState(state, exported) {
        const variables =
          (
            exported as {
              variables?: Record<string, { name: string; type: never; value: unknown }>;
            } | null
          )?.variables ?? {};
        for (const v of Object.values(variables))
          await inner.registerVariable(state, v.name, v.type, v.value);
        return ok({ state });
      },
    }),
    caughtBy: "malformed exports are rejected with invalid_export and change nothing",
  },
  "events are sent before the change commits": {
    provider: (() => {
      const subscribers = new WeakMap<LocalStateHandle, SubscriberSet>();
      return defective("events-before-commit", {
        async subscribe(state, pattern, subscriber) {
          const set = subscribers.get(state) ?? new SubscriberSet(() => {});
          subscribers.set(state, set);
          return ok(set.add(pattern, subscriber));
        },
        async setVariable(state, identifier, value, metadata, options) {
          const before = await inner.getVariableRecord(state, identifier);
          if (before.ok) {
            const r = before.value;
            const event: VariableEvent = {
              ...r,
              kind: "updated",
              value: value as never,
              previousValue: r.value,
              version: r.version + 1,
              timestamp: Date.now(),
              record: r,
            };
            subscribers.get(state)?.emit(event);
          }
          return inner.setVariable(state, identifier, value, metadata, options);
        },
      });
    })(),
    caughtBy: "[streaming] events are sent after the change commits, in commit order",
  },
  "cleanup leaves an interval timer running": {
    provider: defective("timer-left", {
      async init(options) {
        leakedTimers.add(setInterval(() => {}, 60_000));
        return inner.init(options);
      },
    }),
    caughtBy: "cleanup leaves no timers, sockets or other handles behind",
  },
  "a deleted name still resolves": {
    provider: defective("delete-leaves-name", {
      async deleteVariable(state, identifier) {
        const record = await inner.getVariableRecord(state, identifier);
        const deleted = await inner.deleteVariable(state, identifier);
        if (deleted.ok && record.ok)
          await inner.registerVariable(
            state,
            record.value.name,
            record.value.type,
            record.value.value,
          );
        return deleted;
      },
    }),
    caughtBy: "deleteVariable by name: name and id stop resolving everywhere",
  },
  "getVariables fails on a missing identifier": {
    provider: defective("getVariables-strict", {
      async getVariables(state, identifiers) {
        for (const identifier of identifiers) {
          const found = await inner.getVariable(state, identifier);
          if (!found.ok) return found;
        }
        return inner.getVariables(state, identifiers);
      },
    }),
    caughtBy: "getVariables returns the found identifiers as given and skips the missing",
  },
  "compare-and-set claimed but ignored": {
    provider: defective("cas-ignored", {
      setVariable: (state, identifier, value, metadata) =>
        inner.setVariable(state, identifier, value, metadata),
      updateVariables: (state, updates, metadata) =>
        inner.updateVariables(state, updates, metadata),
    }),
    caughtBy: "[compareAndSet] 50 concurrent compare-and-set increment loops lose no increment",
  },
  "calls after cleanup answer not_found instead of closed": {
    provider: defective("closed-as-not-found", {
      async getVariable(state, identifier) {
        const result = await inner.getVariable(state, identifier);
        return !result.ok && result.error.code === "closed"
          ? err(StateErrors.notFound(identifier))
          : result;
      },
    }),
    caughtBy: "after cleanup every call answers closed and never hangs",
  },
};

async function failingTests(provider: Provider): Promise<string[]> {
  const tests: [string, () => Promise<void>][] = [];
  // The model-based test is random (provider-tests checks what it finds with a fixed seed).
  providerTests((name, body) => tests.push([name, body]), provider, {
    timeoutMs: 250,
    disable: [MODEL_TEST_NAME],
  });
  const failed: string[] = [];
  for (const [name, body] of tests) {
    try {
      await body();
    } catch {
      failed.push(name);
    }
  }
  return failed;
}

describe("the suite catches LocalState with one defect", () => {
  test("the unmodified LocalState fails nothing (the control)", async () => {
    expect(await failingTests(inner)).toEqual([]);
  });

  for (const [defect, { provider, caughtBy }] of Object.entries(DEFECTS)) {
    test(defect, async () => {
      expect(CONFORMANCE_TESTS.map((t) => t.name)).toContain(caughtBy);
      expect(await failingTests(provider)).toContain(caughtBy);
    });
  }
});
