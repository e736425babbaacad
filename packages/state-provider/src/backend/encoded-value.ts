import type { Result } from "../result.js";
import type { VariableType } from "../types/variable-types.js";

/**
 * A value that arrived encoded for a variable its sender named but whose type only the store
 * knows (a wire `Any`, say). Handed to `setVariable` / `updateVariables` in place of a value, it
 * is decoded by the plan with the variable's type, after the `not_found` and `version_conflict`
 * checks and before the value's own: so a server answers a malformed value in the contract's
 * order on every backend, without reading the variable first.
 */
export class EncodedValue {
  constructor(
    /** Decodes for a variable of `type` named `variable` (named in the error it may answer). */
    readonly decode: (type: VariableType, variable: string) => Result<unknown>,
  ) {}
}
