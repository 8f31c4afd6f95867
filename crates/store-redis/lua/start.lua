-- Queues a created job.
-- KEYS: job hash
-- ARGV: id, now (RFC 3339), queue key prefix
-- Returns "ok", "missing", or the job's current status.
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return 'missing'
end
if status ~= 'created' then
  return status
end
redis.call('HSET', KEYS[1], 'status', 'queued', 'updated_at', ARGV[2])
redis.call('LPUSH', ARGV[3] .. redis.call('HGET', KEYS[1], 'runner'), ARGV[1])
return 'ok'
