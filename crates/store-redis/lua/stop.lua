-- Stops a job: a created or queued one at once, a running one by flagging it for its worker.
-- KEYS: job hash
-- ARGV: id, result json, now (RFC 3339), events channel, queue key prefix,
--       expected owner ("" for any)
-- Returns "stopped", "requested", "final" or "missing" (also when the job has another owner
-- than the expected one).
local status, owner = unpack(redis.call('HMGET', KEYS[1], 'status', 'owner'))
if not status or (ARGV[6] ~= '' and owner ~= ARGV[6]) then
  return 'missing'
end
if status == 'running' then
  redis.call('HSET', KEYS[1], 'stop', '1')
  return 'requested'
end
if status ~= 'created' and status ~= 'queued' then
  return 'final'
end
if status == 'queued' then
  redis.call('LREM', ARGV[5] .. redis.call('HGET', KEYS[1], 'runner'), 1, ARGV[1])
end
redis.call('HSET', KEYS[1], 'status', 'stopped', 'result', ARGV[2],
  'completed_at', ARGV[3], 'updated_at', ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[1] .. '\nstopped')
return 'stopped'
