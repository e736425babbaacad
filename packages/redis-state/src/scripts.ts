import { createHash } from "node:crypto";

/*
 * The Lua scripts. Each starts with a `#!lua` shebang: Redis then refuses a writing script
 * before it runs when memory is full (noeviction), and runs `no-writes` ones on replicas too.
 * Every script checks everything before its first write, so a refusal leaves nothing applied.
 * Values stay opaque strings (the contract's wire JSON): Lua never re-encodes a number.
 *
 * Session hash fields: `epoch` (changes when the session is created anew), `seq` (last commit),
 * `lq` (its request id, which the next commit's stream entries carry as `pq`), `st` (the request
 * id of the last commit that registered, deleted or renamed a variable),
 * `count` (variables), `order` (registration counter), `metadata` (JSON), `createdAt` (epoch ms;
 * absent on sessions made before it), and per variable
 * `r:<id>` record JSON, `v:<id>` revision (the request id of the commit that last wrote it:
 * unlike commit numbers, never reused after a restart that lost writes), `o:<id>` order,
 * `c:<id>` its latest feed entry (history starts there), `n:<name>` → id.
 */

export interface Script {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

function script(name: string, source: string): Script {
  return { name, source, sha: createHash("sha1").update(source).digest("hex") };
}

/**
 * KEYS: hash, feed, requests. ARGV: epoch, metadata JSON, ttl ms, mode (`join`: join or create; `create`:
 * only create; `existing`: only join), now (epoch ms, the session's `createdAt`). Answers
 * {'created' | 'joined' | 'exists' | 'missing', epoch}.
 */
export const OPEN = script(
  "open",
  `#!lua
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if epoch then
  if ARGV[4] == 'create' then return {'exists', epoch} end
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
  redis.call('PEXPIRE', KEYS[3], ARGV[3])
  return {'joined', epoch}
end
if ARGV[4] == 'existing' then return {'missing', ''} end
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('HSET', KEYS[1], 'epoch', ARGV[1], 'metadata', ARGV[2], 'seq', 0, 'st', 0, 'count', 0,
  'order', 0, 'createdAt', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {'created', ARGV[1]}
`,
);

/**
 * KEYS: hash. ARGV: identifiers. Answers false when the session is gone, else
 * {epoch, count, metadata, seq, st, then per identifier: record as id, its revision, the id the
 * identifier names, that record, its revision} ('' for absent).
 */
export const SNAPSHOT = script(
  "snapshot",
  `#!lua flags=no-writes
local H = KEYS[1]
local epoch = redis.call('HGET', H, 'epoch')
if not epoch then return false end
local out = {epoch, redis.call('HGET', H, 'count'), redis.call('HGET', H, 'metadata'),
  redis.call('HGET', H, 'seq'), redis.call('HGET', H, 'st') or ''}
for i = 1, #ARGV do
  local ident = ARGV[i]
  local blob = redis.call('HGET', H, 'r:' .. ident) or ''
  local rev = blob ~= '' and redis.call('HGET', H, 'v:' .. ident) or ''
  local named = redis.call('HGET', H, 'n:' .. ident) or ''
  local nblob, nrev = '', ''
  if named ~= '' then
    nblob = redis.call('HGET', H, 'r:' .. named) or ''
    nrev = redis.call('HGET', H, 'v:' .. named) or ''
  end
  out[#out + 1] = blob
  out[#out + 1] = rev
  out[#out + 1] = named
  out[#out + 1] = nblob
  out[#out + 1] = nrev
end
return out
`,
);

/**
 * KEYS: hash. ARGV: identifier. {the id the identifier holds as a name ('' when it is an id),
 * the record JSON} (id first, then name), false when nothing has it, 0 when the session is gone.
 */
export const GET = script(
  "get",
  `#!lua flags=no-writes
local blob = redis.call('HGET', KEYS[1], 'r:' .. ARGV[1])
if blob then return {'', blob} end
local id = redis.call('HGET', KEYS[1], 'n:' .. ARGV[1])
if id then return {id, redis.call('HGET', KEYS[1], 'r:' .. id)} end
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return false
`,
);

const APPLIED = `-- A caller's request id already applied by a commit still in the feed: its stored answer.
local function applied(F, R, id)
  local seq = redis.call('ZSCORE', R, id)
  if not seq then return nil end
  local entry = redis.call('XRANGE', F, seq .. '-0', seq .. '-0')[1]
  if entry then
    local fields = entry[2]
    for f = 1, #fields, 2 do
      if fields[f] == 'a' then return {'replayed', seq, fields[f + 1]} end
    end
  end
  return {'expired', seq}
end
`;

/**
 * KEYS: feed, requests. ARGV: a caller's request id. {'replayed', seq, answer JSON} when a
 * retained commit applied it, {'expired', seq} when that commit left the feed, else false.
 */
export const LOOKUP = script(
  "lookup",
  `#!lua flags=no-writes
${APPLIED}
return applied(KEYS[1], KEYS[2], ARGV[1]) or false
`,
);

/**
 * The one commit of every write. KEYS: hash, feed, bell, requests. ARGV: epoch read, ttl ms, max
 * variables (-1: none), feed retention, request id, `since` ('' on a first attempt, else the
 * last commit the caller knew of before its first attempt), session metadata ('' to keep),
 * structural ('1' when ids or names change: `st` becomes this commit), condition count, then (field, value read) pairs, change count, then per change: kind, id,
 * name, old name, record JSON, previous value JSON, timestamp; then the caller's request id ('' for
 * none) and the answer JSON to store with it.
 *
 * With a caller's request id that a retained commit already applied (from any process), nothing is
 * applied: {'replayed', seq, answer}, or {'expired', seq} when that commit left the feed.
 * Answers {'done', seq} when the request already committed (a retry after its answer was lost:
 * its stream entries carry the request id), {'unknown'} when that cannot be told any more (the
 * entries since were trimmed), {'gone'}, {'retry'} when something read moved, else {'ok', seq}.
 */
export const COMMIT = script(
  "commit",
  `#!lua
${APPLIED}
local H, F, B, R = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local epoch = redis.call('HGET', H, 'epoch')
if epoch ~= ARGV[1] then return {'gone'} end
local nc = tonumber(ARGV[9])
local n = tonumber(ARGV[10 + 2 * nc])
local base = 11 + 2 * nc
local rid, answer = ARGV[base + n * 7], ARGV[base + n * 7 + 1]
if rid ~= '' then
  local done = applied(F, R, rid)
  if done then return done end
end
if ARGV[6] ~= '' then
  local from = (tonumber(ARGV[6]) + 1) .. '-0'
  local first = true
  while true do
    local page = redis.call('XRANGE', F, from, '+', 'COUNT', 200)
    if #page == 0 then break end
    -- The first commit after \`since\` was trimmed: whether this request applied is lost.
    if first and page[1][1] ~= from then return {'unknown'} end
    first = false
    for _, entry in ipairs(page) do
      local fields = entry[2]
      for f = 1, #fields, 2 do
        if fields[f] == 'q' and fields[f + 1] == ARGV[5] then
          return {'done', string.match(entry[1], '^(%d+)')}
        end
      end
    end
    local last = page[#page][1]
    local c, n = string.match(last, '^(%d+)-(%d+)$')
    from = c .. '-' .. (tonumber(n) + 1)
  end
end
-- Big commits (an import) go to Redis in slices: unpack has a limit on arguments.
local function each_slice(list, run)
  for from = 1, #list, 1000 do run(unpack(list, from, math.min(from + 999, #list))) end
end
local fields = {}
for k = 1, nc do fields[k] = ARGV[8 + 2 * k] end
local at = 0
local moved = false
each_slice(fields, function(...)
  local values = redis.call('HMGET', H, ...)
  for k = 1, #values do
    if (values[k] or '') ~= ARGV[9 + 2 * (at + k)] then moved = true end
  end
  at = at + #values
end)
if moved then return {'retry'} end
local added = 0
for c = 0, n - 1 do
  local kind = ARGV[base + c * 7]
  if kind == 'deleted' then added = added - 1 elseif kind == 'registered' then added = added + 1 end
end
local max = tonumber(ARGV[3])
if max >= 0 and added > 0 and tonumber(redis.call('HGET', H, 'count')) + added > max then
  return {'retry'}
end
-- All checks passed: from here on every step writes.
local seq = redis.call('HINCRBY', H, 'seq', 1)
-- Each commit names the one before it (by request id): a reader finds a history rewritten
-- under its cursor (Redis restarted having lost its last writes) and resyncs.
local pq = redis.call('HGET', H, 'lq') or ''
local dels, sets = {}, {'lq', ARGV[5]}
local order
-- Each variable's latest entry (its 'c:' field), read at once and moved as entries are added.
-- Only an update links to it: a registration or an import (a structural commit) starts a
-- history, since a document carries none.
local latest = {}
if ARGV[8] ~= '1' then
  local fields = {}
  for c = 0, n - 1 do fields[c + 1] = 'c:' .. ARGV[base + c * 7 + 1] end
  local at = 0
  each_slice(fields, function(...)
    local values = redis.call('HMGET', H, ...)
    for k = 1, #values do
      local id = ARGV[base + (at + k - 1) * 7 + 1]
      if latest[id] == nil then latest[id] = values[k] or '' end
    end
    at = at + #values
  end)
end
for c = 0, n - 1 do
  local o = base + c * 7
  local kind, id, name, old = ARGV[o], ARGV[o + 1], ARGV[o + 2], ARGV[o + 3]
  local entry = seq .. '-' .. c
  local before = ARGV[8] ~= '1' and latest[id] or ''
  latest[id] = entry
  -- Names are freed before any is set (HDEL runs first): an import may swap two names.
  local freed = kind == 'deleted' and name or (old ~= name and old or '')
  if freed ~= '' and redis.call('HGET', H, 'n:' .. freed) == id then dels[#dels + 1] = 'n:' .. freed end
  if kind == 'deleted' then
    dels[#dels + 1] = 'r:' .. id
    dels[#dels + 1] = 'v:' .. id
    dels[#dels + 1] = 'o:' .. id
    dels[#dels + 1] = 'c:' .. id
  else
    if kind == 'registered' then
      order = (order or tonumber(redis.call('HGET', H, 'order'))) + 1
      sets[#sets + 1] = 'o:' .. id
      sets[#sets + 1] = order
    end
    sets[#sets + 1] = 'r:' .. id
    sets[#sets + 1] = ARGV[o + 4]
    sets[#sets + 1] = 'v:' .. id
    sets[#sets + 1] = ARGV[5]
    sets[#sets + 1] = 'c:' .. id
    sets[#sets + 1] = entry
    sets[#sets + 1] = 'n:' .. name
    sets[#sets + 1] = id
  end
  -- 'pv' links the variable's previous entry: its history is a walk, not a scan. The first
  -- entry of a commit made with a caller's request id also keeps the id and its answer.
  if c == 0 and rid ~= '' then
    redis.call('XADD', F, entry, 'k', kind, 'r', ARGV[o + 4], 'p', ARGV[o + 5], 't', ARGV[o + 6],
      'n', n, 'q', ARGV[5], 'pq', pq, 'pv', before, 'rq', rid, 'a', answer)
  else
    redis.call('XADD', F, entry, 'k', kind, 'r', ARGV[o + 4], 'p', ARGV[o + 5], 't', ARGV[o + 6],
      'n', n, 'q', ARGV[5], 'pq', pq, 'pv', before)
  end
end
if order then
  sets[#sets + 1] = 'order'
  sets[#sets + 1] = order
end
if added ~= 0 then redis.call('HINCRBY', H, 'count', added) end
if ARGV[7] ~= '' then
  sets[#sets + 1] = 'metadata'
  sets[#sets + 1] = ARGV[7]
end
if ARGV[8] == '1' then
  sets[#sets + 1] = 'st'
  sets[#sets + 1] = ARGV[5]
end
each_slice(dels, function(...) redis.call('HDEL', H, ...) end)
each_slice(sets, function(...) redis.call('HSET', H, ...) end)
redis.call('XTRIM', F, 'MAXLEN', '~', ARGV[4])
if rid ~= '' then
  redis.call('ZADD', R, seq, rid)
  -- Request ids are kept as long as their commit is in the feed: the set stays bounded.
  local first = redis.call('XRANGE', F, '-', '+', 'COUNT', 1)[1]
  if first then
    redis.call('ZREMRANGEBYSCORE', R, '-inf', '(' .. string.match(first[1], '^(%d+)'))
  end
end
redis.call('PEXPIRE', H, ARGV[2])
redis.call('PEXPIRE', F, ARGV[2])
redis.call('PEXPIRE', R, ARGV[2])
redis.call('SPUBLISH', B, epoch .. ':' .. seq)
return {'ok', seq}
`,
);

/** KEYS: hash, feed, requests. ARGV: ttl ms. Re-arms the idle TTL of a session that exists. */
export const TOUCH = script(
  "touch",
  `#!lua
if redis.call('PEXPIRE', KEYS[1], ARGV[1]) == 1 then
  redis.call('PEXPIRE', KEYS[2], ARGV[1])
  redis.call('PEXPIRE', KEYS[3], ARGV[1])
end
return 1
`,
);

/**
 * KEYS: hash, feed. ARGV: from id (inclusive), count. The change feed from a cursor with the
 * session's epoch, last commit and its request id, read together: false when the session is gone.
 */
export const FEED = script(
  "feed",
  `#!lua flags=no-writes
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then return false end
return {epoch, redis.call('HGET', KEYS[1], 'seq'), redis.call('XRANGE', KEYS[2], ARGV[1], '+', 'COUNT', ARGV[2]),
  redis.call('HGET', KEYS[1], 'lq') or ''}
`,
);

/**
 * KEYS: hash, feed. The session hash (flat, as READ_ALL) with the id and request id of the last
 * stream entry (the last change of commit `seq`), read together: the cursor a snapshot stands at.
 */
export const FEED_SNAPSHOT = script(
  "feed-snapshot",
  `#!lua flags=no-writes
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)[1]
local q = ''
if last then
  for f = 1, #last[2], 2 do if last[2][f] == 'q' then q = last[2][f + 1] end end
end
return {redis.call('HGETALL', KEYS[1]), last and last[1] or '', q}
`,
);

/**
 * KEYS: hash, feed. ARGV: epoch, cursor entry id, its request id's prefix, end (exclusive), count.
 * Whether a cursor can be resumed from: {'ok', entries after it up to end} when the session is
 * of that epoch and the cursor's entry is still in the stream with that request id; else
 * {'gone'}, {'epoch'}, {'trimmed'} or {'rewritten'} (Redis lost the commit it named).
 */
export const RESUME = script(
  "resume",
  `#!lua flags=no-writes
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then return {'gone'} end
if epoch ~= ARGV[1] then return {'epoch'} end
local at = redis.call('XRANGE', KEYS[2], ARGV[2], ARGV[2])[1]
if not at then return {'trimmed'} end
local q = ''
for f = 1, #at[2], 2 do if at[2][f] == 'q' then q = at[2][f + 1] end end
if string.sub(q, 1, #ARGV[3]) ~= ARGV[3] then return {'rewritten'} end
return {'ok', redis.call('XRANGE', KEYS[2], '(' .. ARGV[2], '(' .. ARGV[4], 'COUNT', ARGV[5])}
`,
);

/**
 * KEYS: feed. ARGV: from (exclusive), end (exclusive), count. Stream entries between two ids.
 */
export const FEED_RANGE = script(
  "feed-range",
  `#!lua flags=no-writes
return redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '(' .. ARGV[2], 'COUNT', ARGV[3])
`,
);

/** KEYS: hash, feed, bell, requests. Deletes a session: a last doorbell tells watchers it ended. */
export const DELETE_SESSION = script(
  "delete-session",
  `#!lua
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then return 0 end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[4])
redis.call('SPUBLISH', KEYS[3], epoch .. ':end')
return 1
`,
);

/** KEYS: hash. The whole session hash (flat field/value list; empty when gone). */
export const READ_ALL = script(
  "read-all",
  `#!lua flags=no-writes
return redis.call('HGETALL', KEYS[1])
`,
);

/**
 * KEYS: hash, feed. ARGV: identifier, versions wanted, entries to read at most, then to continue
 * (else ''): the last entry read, the epoch and that entry's request id. A variable's retained
 * records, newest first: from its latest entry (`c:<id>`), each entry's `pv` links the previous
 * version's, '' where its history starts (see history.ts). Answers 0 when the session is gone, false when nothing has the identifier, else
 * {epoch, the last entry read and its request id ('' when done), the current record ('' when
 * continuing), then the records read}.
 */
export const HISTORY = script(
  "history",
  `#!lua flags=no-writes
local H, F = KEYS[1], KEYS[2]
local epoch = redis.call('HGET', H, 'epoch')
if not epoch then return 0 end
local function field(flat, name)
  for f = 1, #flat, 2 do
    if flat[f] == name then return flat[f + 1] end
  end
  return ''
end
local wanted, budget = tonumber(ARGV[2]), tonumber(ARGV[3])
local at = ''
local done = {epoch, '', '', ''}
if ARGV[4] == '' then
  local id = ARGV[1]
  local current = redis.call('HGET', H, 'r:' .. id)
  if not current then
    id = redis.call('HGET', H, 'n:' .. ARGV[1])
    if not id then return false end
    current = redis.call('HGET', H, 'r:' .. id)
  end
  done[4] = current
  if wanted <= 1 then return done end
  at = redis.call('HGET', H, 'c:' .. id) or ''
else
  -- Continuing: the same session, and the last entry read unchanged (a restart that lost
  -- writes reuses entry ids), so the entry it links to is the one the first call would read.
  if epoch ~= ARGV[5] then return done end
  local last = redis.call('XRANGE', F, ARGV[4], ARGV[4])[1]
  if not last or field(last[2], 'q') ~= ARGV[6] then return done end
  at = field(last[2], 'pv')
end
local out = {epoch, '', '', done[4]}
local last, lastRequest = '', ''
for _ = 1, budget do
  if at == '' then return out end
  local entry = redis.call('XRANGE', F, at, at)[1]
  -- Trimmed: the history ends here.
  if not entry then return out end
  local flat = entry[2]
  out[#out + 1] = field(flat, 'r')
  if #out - 4 >= wanted then return out end
  last, lastRequest, at = entry[1], field(flat, 'q'), field(flat, 'pv')
end
-- The budget ran out: the caller continues from the last entry read.
out[2], out[3] = last, lastRequest
return out
`,
);
