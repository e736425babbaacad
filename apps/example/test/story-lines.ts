// The lines every run of the demo prints (numbers, ids and ports aside). demo.test.ts checks a
// real run against them and readme.test.ts checks the README's sample output, so the README
// cannot drift from what users see.
export const STORY_LINES: readonly RegExp[] = [
  /^DSPex example: a program tuned from TypeScript and from a Python optimizer$/m,
  /^ {2}step {2}1 \[local {2}\] score 0\.\d{4} {2}temperature=[\d.]+ max_tokens=\d+ model=\S+ prompt=\d+ chars$/m,
  /^ {2}change {2}max_tokens {4}256 -> 512 {2}v2 {2}source=typescript$/m,
  /^ {2}bridge server listening on 127\.0\.0\.1:\d+ \(started in [\d.]+ ms\)$/m,
  /^ {2}inspector on http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+$/m,
  /^ {2}switched LocalState -> BridgedState in [\d.]+ ms \(4 variables, 1 watch moved\)$/m,
  /^ {2}session ctx_[0-9a-f-]{36} is open to workers \(bearer token required\)$/m,
  /^ {2}optimizer worker started \(pid \d+\)$/m,
  /^ {2}optimizer: connected, GetVariable p50 \d+ us over gRPC$/m,
  /^ {2}step +\d+ \[bridged\] score 0\.\d{4} /m,
  /^ {2}change {2}\w+ +.+ -> .+ {2}v\d+ {2}source=python \(trial \d+\)$/m,
  /^ {2}optimizer: trial 40\/40 best score 0\.\d{4}$/m,
  /^Final variables$/m,
  /^ {2}updates seen by the TypeScript watcher: \d+ \(.+\)$/m,
  /^ {2}best candidate scored 0\.\d{4} in Python and 0\.\d{4} in TypeScript: the two score formulas agree$/m,
  /^ {2}LocalState -> BridgedState {2}ok {2}[\d.]+ ms {2}4 variables, 1 watch {2}\(worker "optimizer" attached\)$/m,
  /^ {2}get +[\d.]+ us +[\d.]+ us +[\d.]+ us$/m,
  /^Done in [\d.]+ s; stopping the worker and the server\.$/m,
];
