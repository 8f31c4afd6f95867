-- Stores a new job, and queues it when ARGV[6] is "1" (schedules it instead when its due
-- time, ARGV[13], is still to come by the Redis clock).
-- KEYS: job hash, jobs index, queue
-- ARGV: id, job json, runner, now (RFC 3339), now (ms), queue?, timeout (s), retries,
--   owner (opaque; empty for none), caller id, context id, priority, due (ms; "" for none),
--   retry on error ("1" or "0"), retry backoff (s), waited ("1": a caller waits for its end,
--   which finish.lua then announces with its outcome on {ns}results)
-- Returns 0 when the id is taken, 1 otherwise.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
local status = 'created'
local due = tonumber(ARGV[13] or '')
local t = redis.call('TIME')
local now_ms = t[1] * 1000 + math.floor(t[2] / 1000)
if ARGV[6] == '1' then
  status = 'queued'
  if due and due > now_ms then
    status = 'scheduled'
  end
end
-- The timeout and retries are copied out of the JSON so that claiming and reaping need not
-- decode a payload that may be a megabyte long, and the creation time (the jobs index's
-- score) so that status changes need not look it up. `queued_ms` (Redis clock) is where the
-- wait `/metrics` reports starts; a job queued later (job.start, a delay) gets it anew.
redis.call('HSET', KEYS[1], 'job', ARGV[2], 'runner', ARGV[3], 'status', status,
  'created_at', ARGV[4], 'updated_at', ARGV[4], 'timeout', ARGV[7], 'retries', ARGV[8],
  'queued_ms', now_ms, 'created_ms', ARGV[5])
if ARGV[9] ~= '' then
  redis.call('HSET', KEYS[1], 'owner', ARGV[9])
end
if ARGV[10] then
  redis.call('HSET', KEYS[1], 'caller', ARGV[10], 'context', ARGV[11])
end
-- Scheduling fields, copied like the timeout; absent ones take their defaults.
if ARGV[12] and ARGV[12] ~= '0' then
  redis.call('HSET', KEYS[1], 'priority', ARGV[12])
end
if due then
  redis.call('HSET', KEYS[1], 'due', ARGV[13])
end
if ARGV[14] == '1' then
  redis.call('HSET', KEYS[1], 'retry', '1', 'backoff', ARGV[15])
end
if ARGV[16] == '1' then
  redis.call('HSET', KEYS[1], 'waited', '1')
end
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
-- The counter `/metrics` reads, in the same step as the job it counts.
redis.call('HINCRBY', string.sub(KEYS[2], 1, #KEYS[2] - 4) .. 'stats', 'submitted:' .. ARGV[3], 1)
-- The listing indexes, scored like the jobs index (see docs/runner-protocol.md).
local ns = string.sub(KEYS[2], 1, #KEYS[2] - 4)
redis.call('ZADD', ns .. 'idx:status:' .. status, ARGV[5], ARGV[1])
redis.call('ZADD', ns .. 'idx:runner:' .. ARGV[3], ARGV[5], ARGV[1])
if ARGV[9] ~= '' then
  redis.call('ZADD', ns .. 'idx:owner:' .. ARGV[9], ARGV[5], ARGV[1])
end
-- A job without a caller or context id is in no caller's or context's index: a listing
-- filter never asks for the empty one.
if ARGV[10] and ARGV[10] ~= '' then
  redis.call('ZADD', ns .. 'idx:caller:' .. ARGV[10], ARGV[5], ARGV[1])
end
if ARGV[11] and ARGV[11] ~= '' then
  redis.call('ZADD', ns .. 'idx:context:' .. ARGV[11], ARGV[5], ARGV[1])
end
if status == 'queued' then
  enqueue(ns, ARGV[1], ARGV[3], ARGV[12])
elseif status == 'scheduled' then
  schedule(ns, ARGV[1], ARGV[13])
end
-- Tells watchers (see docs/runner-protocol.md, "Job changes").
redis.call('PUBLISH', chan(ns, 'changes'), status .. '\n' .. now_ms ..
  '\n' .. ARGV[1] .. ' ' .. ARGV[3] .. ' ' .. ARGV[9])
return 1
