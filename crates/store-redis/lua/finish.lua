-- Records a worker's report on a run it holds, schedules the job's removal after its
-- retention, and announces the job's end; or, for a failed run of a job that asked to be
-- retried after an error and has retries left, schedules its next run instead (the end
-- channel then says nothing: the job has not ended).
-- KEYS: job hash, worker's in-flight list
-- ARGV: id, worker, status, result json, now (RFC 3339), events channel, attempt token
-- Returns 1, or 0 when the worker no longer holds that attempt: the job was ended, requeued or
-- deleted, even if its id was reused since. Then nothing changes, not even the in-flight
-- list: an entry of the same id there belongs to a newer run, or to a claim of a new job
-- under that id still being marked, and whoever ended the old run removed its entry.
-- The runner, owner and whether a caller waits are read here too, for the announcements at
-- the end.
local state = redis.call('HMGET', KEYS[1], 'status', 'worker', 'attempt', 'runner', 'owner',
  'claimed_ms', 'waited')
if state[1] ~= 'running' or state[2] ~= ARGV[2] or state[3] ~= ARGV[7] then
  return 0
end
redis.call('LREM', KEYS[2], 1, ARGV[1])
local ns = string.sub(KEYS[1], 1, #KEYS[1] - #ARGV[1] - 4)
local t = redis.call('TIME')
local now_ms = t[1] * 1000 + math.floor(t[2] / 1000)
if ARGV[3] == 'failed' then
  local ok, decoded = pcall(cjson.decode, ARGV[4])
  local message = ok and type(decoded) == 'table' and decoded.error or nil
  if type(message) == 'string' then
    redis.call('HSET', KEYS[1], 'last_error', message)
  end
  -- A job that asked to be retried after an error, with retries left (runs again after a
  -- lost runner count too) and no stop asked, backs off as `scheduled` instead of ending:
  -- the n-th retry waits base × 2^(n-1) seconds, capped at a day, jittered down to as little
  -- as half, so many jobs failing at once do not come back at once.
  local r = redis.call('HMGET', KEYS[1], 'retry', 'retries', 'requeues', 'errors', 'backoff',
    'stop')
  local errors = tonumber(r[4] or '0') or 0
  local reruns = (tonumber(r[3] or '0') or 0) + errors
  if r[1] == '1' and r[6] ~= '1' and reruns < (tonumber(r[2] or '0') or 0) then
    errors = errors + 1
    local wait = math.min((tonumber(r[5] or '1') or 1) * 2 ^ (errors - 1), 86400) * 1000
    local due = now_ms + math.floor(wait * (0.5 + 0.5 * ((t[2] % 1000) / 999)))
    restatus(ns, ARGV[1], 'running', 'scheduled')
    redis.call('HSET', KEYS[1], 'status', 'scheduled', 'errors', errors, 'updated_at', ARGV[5])
    redis.call('HDEL', KEYS[1], 'worker', 'attempt', 'started_at', 'deadline', 'claimed_ms',
      'progress')
    schedule(ns, ARGV[1], due)
    redis.call('PUBLISH', ns .. 'changes', 'scheduled\n' .. now_ms .. '\n' .. ARGV[1] .. ' ' ..
      state[4] .. ' ' .. (state[5] or ''))
    return 1
  end
end
restatus(ns, ARGV[1], 'running', ARGV[3])
redis.call('HSET', KEYS[1], 'status', ARGV[3], 'result', ARGV[4],
  'completed_at', ARGV[5], 'updated_at', ARGV[5])
redis.call('HDEL', KEYS[1], 'stop')
retain(ns, ARGV[1], ARGV[3], now_ms)
count_end(ns, state[4], ARGV[3])
-- A caller waits for this job (`job.run`): it gets the outcome with the announcement, before
-- the end announcement, and need not read the job (the job's own JSON, which it holds, is
-- left out).
if state[7] then
  local names = {'status', 'updated_at', 'result', 'progress', 'started_at', 'completed_at',
    'errors', 'requeues', 'owner', 'last_error'}
  local values = redis.call('HMGET', KEYS[1], unpack(names))
  local fields = {}
  for i, name in ipairs(names) do
    if values[i] then
      fields[name] = values[i]
    end
  end
  redis.call('PUBLISH', ns .. 'results', ARGV[1] .. '\n' .. cjson.encode(fields))
end
redis.call('PUBLISH', ARGV[6], ARGV[1] .. '\n' .. ARGV[3])
redis.call('PUBLISH', ns .. 'changes', ARGV[3] .. '\n' .. now_ms .. '\n' ..
  change_line(ARGV[1], state[4], state[5], state[6], now_ms))
return 1
