import type { Result } from "@dspex/state-provider";

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The value of an ok result; throws with the error's code and message otherwise. */
export function must<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
  return result.value;
}

/** The error code of a result, `ok` when it succeeded. */
export function codeOf(result: Result<unknown>): string {
  return result.ok ? "ok" : result.error.code;
}

export async function eventually(check: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
