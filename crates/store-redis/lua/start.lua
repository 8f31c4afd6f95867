-- Queues a created job.
-- KEYS: job hash
-- ARGV: id, now (RFC 3339), queue key prefix, expected owner ("" for any)
-- Returns "ok", "missing" (also when the job has another owner than the expected one, so a
-- job created again under the id by someone else is never touched), or its current status.
local status, owner = unpack(redis.call('HMGET', KEYS[1], 'status', 'owner'))
if not status or (ARGV[4] ~= '' and owner ~= ARGV[4]) then
  return 'missing'
end
if status ~= 'created' then
  return status
end
redis.call('HSET', KEYS[1], 'status', 'queued', 'updated_at', ARGV[2])
redis.call('LPUSH', ARGV[3] .. redis.call('HGET', KEYS[1], 'runner'), ARGV[1])
return 'ok'
