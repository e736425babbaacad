import { err, ok, type Result, StateErrors } from "@dspex/state-provider";
import { classify, type Link } from "./link.js";
import type { Script } from "./scripts.js";

/*
 * Every command goes through `runScript`: it answers within the caller's deadline, never hangs.
 * A connection failure is retried (a write with the same request id, so it applies at most once)
 * until the deadline, then answers `unavailable`; a reply Redis refused is answered at once.
 */

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface RunOptions {
  /** Epoch ms by which the call answers. */
  readonly deadline: number;
  /** What is being done, for messages ("set temperature"). */
  readonly what: string;
  /** A write: an ambiguous failure may have applied it (said in the message). */
  readonly write: boolean;
  /** Called when a sent command failed without an answer, before it is sent again. */
  readonly onAmbiguous?: () => void;
}

export function runScript(
  link: Link,
  script: Script,
  keys: readonly string[],
  args: readonly string[],
  options: RunOptions,
): Promise<Result<unknown>> {
  return run(link, (remaining) => link.run(script, keys, args, remaining), options);
}

/** A plain read-only command on the slot of `key` (a whole command, name first). */
export function runRead(
  link: Link,
  key: string,
  command: string[],
  options: RunOptions,
): Promise<Result<unknown>> {
  return run(link, (remaining) => link.send(key, command, true, remaining), options);
}

async function run(
  link: Link,
  send: (remainingMs: number) => Promise<unknown>,
  options: RunOptions,
): Promise<Result<unknown>> {
  let sent = false;
  let lastFailure = "";
  for (let attempt = 0; ; attempt++) {
    const remaining = options.deadline - Date.now();
    if (remaining <= 0) break;
    try {
      sent = true;
      return ok(await send(remaining));
    } catch (error) {
      const failure = classify(error);
      if (failure.kind === "reply") return err(refusal(failure.message, options.what));
      if (failure.kind === "closed") {
        return err(
          StateErrors.unavailable(
            `the connection to Redis was closed during ${options.what}${options.write ? " (the write may have applied)" : ""}`,
          ),
        );
      }
      lastFailure = failure.message;
      options.onAmbiguous?.();
    }
    const wait = Math.min(20 * 2 ** attempt, 250, options.deadline - Date.now());
    if (wait > 0) await sleep(wait);
  }
  const detail = lastFailure || link.lastError || "no answer";
  const applied =
    options.write && sent ? " (the write may have applied: read it back before retrying)" : "";
  return err(
    StateErrors.unavailable(`Redis did not answer ${options.what} in time: ${detail}${applied}`),
  );
}

/** A reply Redis refused: out of memory is a limit; anything else says what Redis said. */
function refusal(message: string, what: string) {
  if (message.startsWith("OOM")) {
    return StateErrors.limitExceeded(
      "maxmemory",
      0,
      `Redis is out of memory and refused ${what}; nothing was applied (${message})`,
    );
  }
  return StateErrors.unavailable(`Redis refused ${what}: ${message}`);
}
