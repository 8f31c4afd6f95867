-- Stores a new job, and queues it when ARGV[6] is "1".
-- KEYS: job hash, jobs index, queue
-- ARGV: id, job json, runner, now (RFC 3339), now (ms), queue?, timeout (s), retries,
--   owner (opaque; empty for none), caller id, context id
-- Returns 0 when the id is taken, 1 otherwise.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
local status = 'created'
if ARGV[6] == '1' then
  status = 'queued'
end
-- The timeout and retries are copied out of the JSON so that claiming and reaping need not
-- decode a payload that may be a megabyte long.
redis.call('HSET', KEYS[1], 'job', ARGV[2], 'runner', ARGV[3], 'status', status,
  'created_at', ARGV[4], 'updated_at', ARGV[4], 'timeout', ARGV[7], 'retries', ARGV[8])
if ARGV[9] ~= '' then
  redis.call('HSET', KEYS[1], 'owner', ARGV[9])
end
if ARGV[10] then
  redis.call('HSET', KEYS[1], 'caller', ARGV[10], 'context', ARGV[11])
end
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
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
  redis.call('LPUSH', KEYS[3], ARGV[1])
end
-- Tells watchers (see docs/runner-protocol.md, "Job changes").
local t = redis.call('TIME')
redis.call('PUBLISH', ns .. 'changes', status .. '\n' .. (t[1] * 1000 + math.floor(t[2] / 1000)) ..
  '\n' .. ARGV[1] .. ' ' .. ARGV[3] .. ' ' .. ARGV[9])
return 1
