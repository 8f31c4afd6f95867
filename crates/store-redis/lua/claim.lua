-- Takes a job for a worker: moves its id from the queue into the worker's in-flight list,
-- marks it running, and renews the worker's lease. With ARGV[5] set, the id was already
-- moved there by BLMOVE and only the marking is left.
-- KEYS: queue, worker's in-flight list, workers lease index
-- ARGV: job key prefix, worker, lease (ms), now (RFC 3339), id already moved or ""
-- Returns the job json, or nil when the queue holds no claimable job.
local t = redis.call('TIME')
redis.call('ZADD', KEYS[3], t[1] * 1000 + math.floor(t[2] / 1000) + tonumber(ARGV[3]), ARGV[2])
local moved = ARGV[5]
while true do
  local id = moved
  if id == '' then
    id = redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT')
    if not id then
      return false
    end
  end
  local key = ARGV[1] .. id
  if redis.call('HGET', key, 'status') == 'queued' then
    redis.call('HSET', key, 'status', 'running', 'worker', ARGV[2],
      'started_at', ARGV[4], 'updated_at', ARGV[4])
    return redis.call('HGET', key, 'job')
  end
  -- Stopped or deleted while queued: drop the stale entry and look further.
  redis.call('LREM', KEYS[2], 1, id)
  if moved ~= '' then
    return false
  end
end
