-- Stores several new jobs in one step, and queues them in order when ARGV[1] is "1"; stores
-- none of them when one id is taken. Each job's hash holds the same fields as submit.lua's.
-- KEYS: jobs index, then per job: its hash, its runner's queue
-- ARGV: queue?, owner (opaque; empty for none), then per job (13 each): id, job json, runner,
--   now (RFC 3339), now (ms), timeout (s), retries, caller id, context id, priority,
--   due (ms; "" for none), retry on error ("1" or "0"), retry backoff (s)
-- With queue? set, a job whose due time is still to come is stored `scheduled`, and one of a
-- priority above 0 goes to its runner's priority queue, as submit.lua does.
-- Returns 0 when every job was stored, else the 1-based place of the first job whose id is
-- taken.
local per_job = 13
local ns = string.sub(KEYS[1], 1, #KEYS[1] - 4)
local count = (#ARGV - 2) / per_job
-- One EXISTS for the chunk (it counts the keys that exist); only when some id is taken is
-- each key asked again, to name the first.
local hashes = {}
for i = 1, count do
  hashes[i] = KEYS[2 * i]
end
if count > 0 and redis.call('EXISTS', unpack(hashes)) > 0 then
  for i = 1, count do
    if redis.call('EXISTS', KEYS[2 * i]) == 1 then
      return i
    end
  end
end
local status = 'created'
if ARGV[1] == '1' then
  status = 'queued'
end
local t = redis.call('TIME')
local now_ms = t[1] * 1000 + math.floor(t[2] / 1000)
-- Jobs that leave the common path (scheduled, or of a priority above 0), by status.
local other = {}
-- The indexes and the queues take their ids in as few commands as the order allows: one
-- ZADD per index for the chunk, one LPUSH per run of consecutive jobs on the same queue (LPUSH
-- a b c leaves a at the right end, where claims take from, so the order holds).
local scored = {}
-- The runner, caller and context indexes: score/member pairs per index key, and the keys in
-- the order first met.
local indexed, index_keys = {}, {}
local function index(key, score, id)
  local entries = indexed[key]
  if entries == nil then
    entries = {}
    indexed[key] = entries
    index_keys[#index_keys + 1] = key
  end
  entries[#entries + 1] = score
  entries[#entries + 1] = id
end
local changed = {}
-- Jobs per runner, counted in {ns}stats with one HINCRBY per runner for the chunk.
local submitted, runners = {}, {}
local run_queue, run_ids = nil, {}
for i = 1, count do
  local a = 2 + (i - 1) * per_job
  local job = KEYS[2 * i]
  -- The timeout and retries are copied out of the JSON so that claiming and reaping need not
  -- decode a payload that may be a megabyte long; the creation time (the jobs index's score)
  -- so that status changes need not look it up.
  if ARGV[2] ~= '' then
    redis.call('HSET', job, 'job', ARGV[a + 2], 'runner', ARGV[a + 3], 'status', status,
      'created_at', ARGV[a + 4], 'updated_at', ARGV[a + 4], 'timeout', ARGV[a + 6],
      'retries', ARGV[a + 7], 'owner', ARGV[2], 'caller', ARGV[a + 8], 'context', ARGV[a + 9],
      'queued_ms', now_ms, 'created_ms', ARGV[a + 5])
  else
    redis.call('HSET', job, 'job', ARGV[a + 2], 'runner', ARGV[a + 3], 'status', status,
      'created_at', ARGV[a + 4], 'updated_at', ARGV[a + 4], 'timeout', ARGV[a + 6],
      'retries', ARGV[a + 7], 'caller', ARGV[a + 8], 'context', ARGV[a + 9], 'queued_ms', now_ms,
      'created_ms', ARGV[a + 5])
  end
  local priority, due = ARGV[a + 10], tonumber(ARGV[a + 11])
  if priority ~= '0' then
    redis.call('HSET', job, 'priority', priority)
  end
  if due then
    redis.call('HSET', job, 'due', ARGV[a + 11])
  end
  if ARGV[a + 12] == '1' then
    redis.call('HSET', job, 'retry', '1', 'backoff', ARGV[a + 13])
  end
  if submitted[ARGV[a + 3]] == nil then
    submitted[ARGV[a + 3]] = 0
    runners[#runners + 1] = ARGV[a + 3]
  end
  submitted[ARGV[a + 3]] = submitted[ARGV[a + 3]] + 1
  local own = status
  if status == 'queued' and due and due > now_ms then
    own = 'scheduled'
  end
  local change = ARGV[a + 1] .. ' ' .. ARGV[a + 3] .. ' ' .. ARGV[2]
  if own == status then
    changed[#changed + 1] = change
    scored[#scored + 1] = ARGV[a + 5]
    scored[#scored + 1] = ARGV[a + 1]
  else
    -- Kept out of the chunk's batched commands below, which are for `status`.
    redis.call('HSET', job, 'status', own)
    other[own] = other[own] or {}
    table.insert(other[own], change)
    redis.call('ZADD', KEYS[1], ARGV[a + 5], ARGV[a + 1])
    redis.call('ZADD', ns .. 'idx:status:' .. own, ARGV[a + 5], ARGV[a + 1])
    if ARGV[2] ~= '' then
      redis.call('ZADD', ns .. 'idx:owner:' .. ARGV[2], ARGV[a + 5], ARGV[a + 1])
    end
    schedule(ns, ARGV[a + 1], ARGV[a + 11])
  end
  -- The listing indexes, scored like the jobs index (see docs/runner-protocol.md).
  index(ns .. 'idx:runner:' .. ARGV[a + 3], ARGV[a + 5], ARGV[a + 1])
  -- A job without a caller or context id is in no caller's or context's index, as in
  -- submit.lua.
  if ARGV[a + 8] ~= '' then
    index(ns .. 'idx:caller:' .. ARGV[a + 8], ARGV[a + 5], ARGV[a + 1])
  end
  if ARGV[a + 9] ~= '' then
    index(ns .. 'idx:context:' .. ARGV[a + 9], ARGV[a + 5], ARGV[a + 1])
  end
  if own == 'queued' and priority ~= '0' then
    enqueue(ns, ARGV[a + 1], ARGV[a + 3], priority)
  elseif own == 'queued' then
    local queue = KEYS[2 * i + 1]
    if queue ~= run_queue and #run_ids > 0 then
      redis.call('LPUSH', run_queue, unpack(run_ids))
      run_ids = {}
    end
    run_queue = queue
    run_ids[#run_ids + 1] = ARGV[a + 1]
  end
end
if #scored > 0 then
  redis.call('ZADD', KEYS[1], unpack(scored))
  redis.call('ZADD', ns .. 'idx:status:' .. status, unpack(scored))
  if ARGV[2] ~= '' then
    redis.call('ZADD', ns .. 'idx:owner:' .. ARGV[2], unpack(scored))
  end
end
for _, key in ipairs(index_keys) do
  redis.call('ZADD', key, unpack(indexed[key]))
end
if #run_ids > 0 then
  redis.call('LPUSH', run_queue, unpack(run_ids))
end
for _, runner in ipairs(runners) do
  redis.call('HINCRBY', ns .. 'stats', 'submitted:' .. runner, submitted[runner])
end
-- Tells watchers, in one message for the chunk (see docs/runner-protocol.md, "Job changes").
if #changed > 0 then
  redis.call('PUBLISH', chan(ns, 'changes'),
    status .. '\n' .. now_ms .. '\n' .. table.concat(changed, '\n'))
end
for own, changes in pairs(other) do
  redis.call('PUBLISH', chan(ns, 'changes'), own .. '\n' .. now_ms .. '\n' .. table.concat(changes, '\n'))
end
return 0
