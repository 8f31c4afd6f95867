-- Stores a new job, and queues it when ARGV[6] is "1".
-- KEYS: job hash, jobs index, queue
-- ARGV: id, job json, runner, now (RFC 3339), now (ms), queue?, timeout (s), retries,
--   owner (opaque; empty for none)
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
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
if status == 'queued' then
  redis.call('LPUSH', KEYS[3], ARGV[1])
end
return 1
