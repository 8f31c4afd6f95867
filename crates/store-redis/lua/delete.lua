-- Deletes a job, its result and its queue entry, and wakes its waiters.
-- KEYS: job hash, jobs index
-- ARGV: id, events channel, queue key prefix
-- Returns 1, or 0 when the job does not exist.
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return 0
end
if status == 'queued' then
  redis.call('LREM', ARGV[3] .. redis.call('HGET', KEYS[1], 'runner'), 1, ARGV[1])
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[1] .. '\n')
return 1
