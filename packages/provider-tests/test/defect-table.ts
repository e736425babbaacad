/** Each defect of the reference backend and exactly the tests that fail because of it (checked by defects.test.ts, quoted in the README). */
import type { Defect } from "./reference-backend.js";

export const DEFECT_TABLE: Readonly<
  Record<Defect, { readonly what: string; readonly caughtBy: readonly string[] }>
> = {
  "batch-claims-atomic-applies-half": {
    what: "claims atomicUpdates, but a batch applies its items one by one and stops at the first failure",
    caughtBy: [
      "a batch checks every constraint a set checks: dimensions, shape, lengths, pattern, choices",
      "a failing batch answers partial_failure naming exactly the failing identifiers and what was applied",
      "[atomicUpdates] a failing batch applies nothing: values, versions and metadata unchanged",
      "a failure is reported under the identifier as given: by id when given by id, by name when by name",
      "[compareAndSet] updateVariables with a stale expectedVersion fails that identifier with version_conflict",
      "[compareAndSet] in a batch naming one variable twice, the second entry's expectedVersion sees the first entry's write",
      "[streaming] a failed write sends no event",
      "[streaming] while a multi-item batch is announced, a subscriber reads the whole batch committed (where atomic)",
    ],
  },
  "non-atomic-batch-misreports-applied": {
    what: "claims no atomicity, applies the passing items, but reports `applied: []`",
    caughtBy: [
      "a batch checks every constraint a set checks: dimensions, shape, lengths, pattern, choices",
      "a failing batch answers partial_failure naming exactly the failing identifiers and what was applied",
      "[compareAndSet] updateVariables with a stale expectedVersion fails that identifier with version_conflict",
      "[compareAndSet] in a batch naming one variable twice, the second entry's expectedVersion sees the first entry's write",
    ],
  },
  "version-does-not-move": {
    what: "setVariable leaves the version where it was",
    caughtBy: [
      "names that are Object.prototype members (__proto__, constructor, toString) are ordinary names in every call",
      "setVariable works by name and by id and returns the new version",
      "version is 1 at registration and moves by exactly one per successful set",
      "an integer within rounding of a whole number (1 + 1e-10, 2 + 2^-51) is not an integer",
      "listVariables returns full records in registration order",
      "updateVariables applies every update: +1 version each, metadata merged, versions keyed as given",
      "a batch naming one variable twice (by name and by id) applies both in order",
      "[compareAndSet] setVariable with the current expectedVersion succeeds; a stale one answers version_conflict and changes nothing",
      "[compareAndSet] updateVariables with a stale expectedVersion fails that identifier with version_conflict",
      "[compareAndSet] in a batch naming one variable twice, the second entry's expectedVersion sees the first entry's write",
      "[compareAndSet] expectedVersions is read for its own keys only: constructor or toString without an entry are written",
      "[compareAndSet] 50 concurrent compare-and-set increment loops lose no increment",
      "export → JSON → import into a fresh instance keeps ids, versions, types, constraints, metadata, source and timestamps",
      "import merges: a record with an existing id replaces it, new ones are added, others are kept",
      "[compareAndSet] after an import, compare-and-set checks the imported version",
      "[streaming] subscribers receive registered, updated and deleted events with their full payload",
      "[streaming] events are sent after the change commits, in commit order",
      "[streaming] a write made from inside a subscriber reaches every subscriber after the change that caused it",
      "[streaming] a throwing subscriber does not break the writer or other subscribers",
      "[streaming] while a multi-item batch is announced, a subscriber reads the whole batch committed (where atomic)",
      "concurrent writes to different variables all land",
      "[streaming] every event carries its committed record: true constraints for a change a batch superseded and for a deletion",
      "[history] limit answers the newest versions; failed writes and failed batches add none",
      "[history] at least the last 20 versions of a variable are retained",
    ],
  },
  "failed-set-moves-version": {
    what: "a set rejected by validation still bumps the version",
    caughtBy: [
      "float and integer violations are rejected with validation_failed; value, version and metadata unchanged",
      "string and boolean violations are rejected with validation_failed; value, version and metadata unchanged",
      "choice, module, embedding and tensor violations are rejected with validation_failed; value, version and metadata unchanged",
      "an integer within rounding of a whole number (1 + 1e-10, 2 + 2^-51) is not an integer",
      "[history] limit answers the newest versions; failed writes and failed batches add none",
    ],
  },
  "metadata-dropped-on-set": {
    what: "setVariable ignores the metadata it is given",
    caughtBy: [
      "metadata is preserved at registration and merged on set (new keys win)",
      "updateVariables applies every update: +1 version each, metadata merged, versions keyed as given",
      "import merges: a record with an existing id replaces it, new ones are added, others are kept",
      "[streaming] subscribers receive registered, updated and deleted events with their full payload",
      "stored limits: a record's metadata cannot grow past 256 entries over several sets",
      "stored limits: metadata of more than 64 KiB is refused with limit_exceeded and changes nothing",
    ],
  },
  "updatedAt-does-not-move": {
    what: "setVariable keeps the old updatedAt",
    caughtBy: ["updatedAt moves on set and createdAt does not"],
  },
  "duplicate-name-accepted": {
    what: "registering an existing name replaces the variable",
    caughtBy: [
      "a duplicate name is rejected with already_exists and the existing variable is untouched",
      "[streaming] a failed write sends no event",
    ],
  },
  "constraints-ignored-on-set": {
    what: "setVariable checks the type but not the constraints",
    caughtBy: [
      "float and integer violations are rejected with validation_failed; value, version and metadata unchanged",
      "string and boolean violations are rejected with validation_failed; value, version and metadata unchanged",
      "choice, module, embedding and tensor violations are rejected with validation_failed; value, version and metadata unchanged",
      "choice is exact and case-sensitive",
      "pattern is an unanchored search; anchors in the pattern are honoured",
      "NaN fails min and max; without bounds it is stored",
      "string lengths count code points: characters outside the BMP count once",
      "constraints are the ones given at registration, whatever the caller does to its object afterwards",
      "a batch checks every constraint a set checks: dimensions, shape, lengths, pattern, choices",
      "a failing batch answers partial_failure naming exactly the failing identifiers and what was applied",
      "[atomicUpdates] a failing batch applies nothing: values, versions and metadata unchanged",
      "a failure is reported under the identifier as given: by id when given by id, by name when by name",
      "export → JSON → import into a fresh instance keeps ids, versions, types, constraints, metadata, source and timestamps",
      "[streaming] a failed write sends no event",
      "a 4096-dimension embedding survives register, set, get and export/import",
      "[history] limit answers the newest versions; failed writes and failed batches add none",
    ],
  },
  "values-not-normalised": {
    what: "stores the caller's value as given (-0, typed arrays, shared arrays)",
    caughtBy: [
      "every type is accepted and its value normalised",
      "a stored value cannot be changed through the caller's objects",
      "a value written by set, updateVariables or import cannot be changed through the caller's objects afterwards",
      "a 4096-dimension embedding survives register, set, get and export/import",
    ],
  },
  "name-resolved-before-id": {
    what: "an identifier is looked up as a name before as an id",
    caughtBy: ["an identifier resolves as an id first, then as a name"],
  },
  "delete-leaves-name-resolvable": {
    what: "deleteVariable leaves a copy that the name still resolves to",
    caughtBy: [
      "basic variable lifecycle: register, get by name and id, set, delete",
      "deleteVariable by name: name and id stop resolving everywhere",
      "deleteVariable by id",
      "a deleted name can be registered again with a new id at version 1",
      "listVariables returns full records in registration order",
      "[history] by name and by id alike; a deleted variable's history goes with it",
    ],
  },
  "getVariables-fails-on-missing": {
    what: "getVariables answers not_found instead of skipping a missing identifier",
    caughtBy: [
      "names that are Object.prototype members (__proto__, constructor, toString) are ordinary names in every call",
      "deleteVariable by name: name and id stop resolving everywhere",
      "getVariables returns the found identifiers as given and skips the missing",
    ],
  },
  "list-sorted-by-name": {
    what: "listVariables (and export) order by name, not registration",
    caughtBy: [
      "names that are Object.prototype members (__proto__, constructor, toString) are ordinary names in every call",
      "listVariables returns full records in registration order",
      "exportState produces a document parseExport accepts, with every variable keyed by id",
    ],
  },
  "compare-and-set-ignored": {
    what: "claims compareAndSet but ignores expectedVersion(s)",
    caughtBy: [
      "a failure is reported under the identifier as given: by id when given by id, by name when by name",
      "[compareAndSet] setVariable with the current expectedVersion succeeds; a stale one answers version_conflict and changes nothing",
      "[compareAndSet] updateVariables with a stale expectedVersion fails that identifier with version_conflict",
      "[compareAndSet] in a batch naming one variable twice, the second entry's expectedVersion sees the first entry's write",
      "[compareAndSet] a malformed expected version (negative, fractional, not a number) answers invalid_argument and changes nothing",
      "[compareAndSet] 50 concurrent compare-and-set increment loops lose no increment",
      "[compareAndSet] after an import, compare-and-set checks the imported version",
    ],
  },
  "import-not-validated": {
    what: "importState stores the document's variables without parseExport",
    caughtBy: [
      "a value written by set, updateVariables or import cannot be changed through the caller's objects afterwards",
      "export → JSON → import into a fresh instance keeps ids, versions, types, constraints, metadata, source and timestamps",
      "malformed exports are rejected with invalid_export and change nothing",
      "init with existingState imports it",
      "init with a malformed existingState fails with invalid_export",
      "[streaming] a failed write sends no event",
      "session metadata: init with existingState merges the caller's metadata over the document's",
      "session metadata: init with existingState and no sessionId holds the document's session",
      "session metadata: importState merges the document's session metadata (its entries win)",
    ],
  },
  "import-not-all-or-nothing": {
    what: "importState stores records up to the first clashing name",
    caughtBy: [
      "import of a name that belongs to another id answers already_exists and imports nothing",
      "import may swap the names of variables it replaces; a name kept by a variable it does not replace answers already_exists and changes nothing",
    ],
  },
  "import-resets-versions-and-timestamps": {
    what: "imported records restart at version 1 with new timestamps",
    caughtBy: [
      "export → JSON → import into a fresh instance keeps ids, versions, types, constraints, metadata, source and timestamps",
      "import merges: a record with an existing id replaces it, new ones are added, others are kept",
      "init with existingState imports it",
      "[compareAndSet] after an import, compare-and-set checks the imported version",
    ],
  },
  "events-before-commit": {
    what: "subscribers are called before the change is stored",
    caughtBy: [
      "[streaming] events are sent after the change commits, in commit order",
      "[streaming] a write made from inside a subscriber reaches every subscriber after the change that caused it",
      "[streaming] inside a registered event the new variable resolves by name and by id",
    ],
  },
  "events-for-failed-batch": {
    what: "a failing batch is rolled back after its events went out",
    caughtBy: [
      "[streaming] a failed write sends no event",
      "[streaming] while a multi-item batch is announced, a subscriber reads the whole batch committed (where atomic)",
    ],
  },
  "throwing-subscriber-breaks-writer": {
    what: "a subscriber's exception propagates into the writer",
    caughtBy: [
      "[streaming] a write made from inside a subscriber reaches every subscriber after the change that caused it",
      "[streaming] a throwing subscriber does not break the writer or other subscribers",
      "[streaming] unsubscribe stops events and is idempotent",
    ],
  },
  "unanchored-patterns": {
    what: "`temp*` matches any name containing `temp`",
    caughtBy: [
      "[streaming] patterns: * matches all, temp* matches prefixes, ? matches one character, others match exactly",
      "[streaming] patterns are case-sensitive and regex metacharacters are literal, in patterns and in names",
    ],
  },
  "unsubscribe-not-idempotent": {
    what: "a second unsubscribe answers not_found",
    caughtBy: ["[streaming] unsubscribe stops events and is idempotent"],
  },
  "events-cross-sessions": {
    what: "all sessions share one subscriber list",
    caughtBy: ["[streaming] events of one session never reach another session's subscribers"],
  },
  "streaming-claimed-without-events": {
    what: "claims streaming, subscribe succeeds, no event is ever sent",
    caughtBy: [
      "[streaming] subscribers receive registered, updated and deleted events with their full payload",
      "[streaming] events are sent after the change commits, in commit order",
      "[streaming] a write made from inside a subscriber reaches every subscriber after the change that caused it",
      "[streaming] patterns: * matches all, temp* matches prefixes, ? matches one character, others match exactly",
      "[streaming] a throwing subscriber does not break the writer or other subscribers",
      "[streaming] unsubscribe stops events and is idempotent",
      "[streaming] a failed write sends no event",
      "[streaming] updateVariables sends one updated event per variable; import sends registered and updated",
      "[streaming] events of one session never reach another session's subscribers",
      "[streaming] while a multi-item batch is announced, a subscriber reads the whole batch committed (where atomic)",
      "[streaming] inside a registered event the new variable resolves by name and by id",
      "[streaming] patterns are case-sensitive and regex metacharacters are literal, in patterns and in names",
      "[streaming] an event's timestamp is its commit's: the record's updatedAt, or the time of deletion",
      "[streaming] caller arguments: subscribe with the empty pattern, a pattern that is not a string or a subscriber that is not a function answers invalid_argument",
      "[streaming] every event carries its committed record: true constraints for a change a batch superseded and for a deletion",
    ],
  },
  "sessions-share-variables": {
    what: "every session of the backend uses the same variables",
    caughtBy: [
      "import of a name that belongs to another id answers already_exists and imports nothing",
      "sessions are isolated from each other",
      "cleanup of one session leaves other sessions working",
      "init without a sessionId generates one, distinct per session",
      "[streaming] updateVariables sends one updated event per variable; import sends registered and updated",
      "[streaming] events of one session never reach another session's subscribers",
      "session metadata: init with existingState merges the caller's metadata over the document's",
      "session metadata: importState merges the document's session metadata (its entries win)",
      "stored limits: an import of a record with 300 metadata entries, or init with 300 session entries, is refused",
    ],
  },
  "cleanup-leaves-timer": {
    what: "init starts an interval timer that cleanup never clears",
    caughtBy: ["cleanup leaves no timers, sockets or other handles behind"],
  },
  "cleanup-hangs-second-time": {
    what: "a second cleanup never settles",
    caughtBy: [
      "basic variable lifecycle: register, get by name and id, set, delete",
      "batch operations: getVariables and updateVariables",
      "export and import state",
      "after cleanup every call answers closed and never hangs",
      "cleanup is idempotent and settles promptly",
      "cleanup leaves no timers, sockets or other handles behind",
      "cleanup of one session leaves other sessions working",
      "session metadata: init with existingState and no sessionId holds the document's session",
      "[history] after cleanup getVariableHistory answers closed",
    ],
  },
  "closed-not-answered": {
    what: "calls after cleanup run against an empty state instead of answering closed",
    caughtBy: [
      "after cleanup every call answers closed and never hangs",
      "cleanup is idempotent and settles promptly",
      "[history] after cleanup getVariableHistory answers closed",
    ],
  },
  "contract-version-mismatch": {
    what: "reports contractVersion 2.0.0",
    caughtBy: ["contractVersion has the major version of CONTRACT_VERSION"],
  },
  "writes-keep-caller-arrays": {
    what: "register copies the value, but setVariable and updateVariables store the caller's array",
    caughtBy: [
      "every type is accepted and its value normalised",
      "a value written by set, updateVariables or import cannot be changed through the caller's objects afterwards",
    ],
  },
  "result-keys-assigned": {
    what: "getVariables and updateVariables build their results by assignment, so a `__proto__` key is lost",
    caughtBy: [
      "names that are Object.prototype members (__proto__, constructor, toString) are ordinary names in every call",
    ],
  },
  "batch-repeat-reads-stale-record": {
    what: "a batch naming one variable twice (name and id) checks and writes both entries from the stored record",
    caughtBy: [
      "a batch naming one variable twice (by name and by id) applies both in order",
      "[compareAndSet] in a batch naming one variable twice, the second entry's expectedVersion sees the first entry's write",
      "[streaming] every event carries its committed record: true constraints for a change a batch superseded and for a deletion",
    ],
  },
  "expected-versions-inherited": {
    what: "updateVariables reads expectedVersions[identifier] without an own-key check, so `constructor` expects Object",
    caughtBy: [
      "[compareAndSet] expectedVersions is read for its own keys only: constructor or toString without an entry are written",
    ],
  },
  "records-handed-out-mutable": {
    what: "hands out its stored record objects unfrozen, so a caller's assignment changes the variable",
    caughtBy: ["records and lists handed out cannot be used to change stored state"],
  },
  "malformed-expected-version-conflicts": {
    what: "answers version_conflict, not invalid_argument, for an expected version that is not a non-negative integer",
    caughtBy: [
      "[compareAndSet] a malformed expected version (negative, fractional, not a number) answers invalid_argument and changes nothing",
    ],
  },
  "import-rename-refused": {
    what: "refuses an imported name held by another id even when the import replaces that id (a swap of two names)",
    caughtBy: [
      "import may swap the names of variables it replaces; a name kept by a variable it does not replace answers already_exists and changes nothing",
    ],
  },
  "persistence-in-process-only": {
    what: "claims persistence but keeps sessions in its process's memory only, so a restart finds nothing",
    caughtBy: [
      "[persistence] variables survive cleanup and a restart: whole records, order, and versions that keep moving",
    ],
  },
  "distribution-events-stay-local": {
    what: "claims distribution, shares the data, but an instance's subscribers hear only that instance's writes",
    caughtBy: [
      "[distribution] with streaming, each instance's subscribers hear the other's changes in commit order",
    ],
  },
  "import-cas-checks-old-version": {
    what: "compare-and-set checks the version the last set wrote, not the one an import brought in",
    caughtBy: ["[compareAndSet] after an import, compare-and-set checks the imported version"],
  },
  "import-rename-keeps-old-name": {
    what: "after an import renames a variable, its old name still resolves to it",
    caughtBy: [
      "an import that renames a variable: the new name resolves, the old one is free, the id stays",
    ],
  },
  "import-merges-metadata": {
    what: "a replacing import merges the old record's metadata into the document's",
    caughtBy: [
      "a replacing import takes the document's metadata (not merged) and keeps the record's place in the list",
    ],
  },
  "import-moves-replaced-to-end": {
    what: "a replacing import moves the record to the end of the list",
    caughtBy: [
      "an import that renames a variable: the new name resolves, the old one is free, the id stays",
      "a replacing import takes the document's metadata (not merged) and keeps the record's place in the list",
    ],
  },
  "integer-tolerates-rounding": {
    what: "an integer within 1e-6 of a whole number is accepted and rounded",
    caughtBy: [
      "an integer within rounding of a whole number (1 + 1e-10, 2 + 2^-51) is not an integer",
    ],
  },
  "choice-case-insensitive": {
    what: "a choice matches ignoring case (`low` for `Low`)",
    caughtBy: [
      "choice is exact and case-sensitive",
      "a batch checks every constraint a set checks: dimensions, shape, lengths, pattern, choices",
    ],
  },
  "pattern-full-match": {
    what: "`pattern` must match the whole string instead of being searched for",
    caughtBy: [
      "pattern is an unanchored search; anchors in the pattern are honoured",
      "a batch checks every constraint a set checks: dimensions, shape, lengths, pattern, choices",
    ],
  },
  "nan-passes-bounds": {
    what: "NaN passes min and max (checked with `<` and `>`)",
    caughtBy: ["NaN fails min and max; without bounds it is stored"],
  },
  "length-in-utf16-units": {
    what: "minLength and maxLength count UTF-16 units, so 😀 counts twice",
    caughtBy: ["string lengths count code points: characters outside the BMP count once"],
  },
  "constraints-kept-by-reference": {
    what: "stores the caller's constraints object, so changing it afterwards changes the rules",
    caughtBy: [
      "constraints are the ones given at registration, whatever the caller does to its object afterwards",
    ],
  },
  "batch-ignores-dimensions": {
    what: "updateVariables skips dimensions and shape (setVariable checks them)",
    caughtBy: [
      "a batch checks every constraint a set checks: dimensions, shape, lengths, pattern, choices",
    ],
  },
  "batch-announced-item-by-item": {
    what: "an atomic batch commits and announces item by item, so a subscriber reads it half applied",
    caughtBy: [
      "[streaming] while a multi-item batch is announced, a subscriber reads the whole batch committed (where atomic)",
    ],
  },
  "registered-event-before-name-index": {
    what: "the registered event goes out before the name is indexed, so reading by name inside it fails",
    caughtBy: ["[streaming] inside a registered event the new variable resolves by name and by id"],
  },
  "batch-conflict-names-variable": {
    what: "a batch's version_conflict names the variable's name, not the identifier given",
    caughtBy: [
      "a failure is reported under the identifier as given: by id when given by id, by name when by name",
    ],
  },
  "case-insensitive-patterns": {
    what: "subscription patterns match ignoring case",
    caughtBy: [
      "[streaming] patterns are case-sensitive and regex metacharacters are literal, in patterns and in names",
    ],
  },
  "patterns-as-regex": {
    what: "subscription patterns become regular expressions unescaped (`model.lr` matches `modelXlr`)",
    caughtBy: [
      "[streaming] patterns are case-sensitive and regex metacharacters are literal, in patterns and in names",
    ],
  },
  "unclaimed-compare-and-set-ignored": {
    what: "does not claim compareAndSet and silently ignores expected versions instead of answering unsupported",
    caughtBy: [
      "[without compareAndSet] setVariable and updateVariables with an expected version answer unsupported and change nothing",
    ],
  },
  "unclaimed-streaming-subscribes": {
    what: "does not claim streaming, yet subscribe succeeds",
    caughtBy: [
      "[without streaming] subscribe is absent or answers unsupported, and writes still work",
    ],
  },
  "event-timestamp-is-createdAt": {
    what: "updated events carry the record's createdAt as their timestamp",
    caughtBy: [
      "[streaming] an event's timestamp is its commit's: the record's updatedAt, or the time of deletion",
    ],
  },
  "history-oldest-first": {
    what: "getVariableHistory answers the oldest version first",
    caughtBy: [
      "[history] getVariableHistory lists every version newest first: value, version, metadata, source, timestamp",
      "[history] limit answers the newest versions; failed writes and failed batches add none",
      "[history] at least the last 20 versions of a variable are retained",
    ],
  },
  "history-limit-ignored": {
    what: "getVariableHistory answers every retained version whatever the limit",
    caughtBy: [
      "[history] limit answers the newest versions; failed writes and failed batches add none",
      "[history] at least the last 20 versions of a variable are retained",
    ],
  },
  "history-records-failed-writes": {
    what: "a set rejected by validation still adds a version to the history",
    caughtBy: [
      "[history] limit answers the newest versions; failed writes and failed batches add none",
    ],
  },
  "history-kept-by-name": {
    what: "keeps history by name, so a deleted variable's versions reappear under a new variable of its name",
    caughtBy: ["[history] by name and by id alike; a deleted variable's history goes with it"],
  },
  "history-limit-unchecked": {
    what: "takes any limit (0, negative, fractional, a string) instead of answering invalid_argument",
    caughtBy: [
      "[history] a limit that is not a positive integer, or a non-string identifier, is invalid_argument",
    ],
  },
};
