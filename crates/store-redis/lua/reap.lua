-- Ends the jobs of workers whose lease expired, and the running jobs past their deadline.
-- A running job a lost worker held goes back to its queue's taking end while it has retries
-- left, and fails ("runner lost") otherwise; a job whose runner was lost ARGV[10] times while
-- running it fails whatever its retries ("runner lost N times"): it may be what kills its
-- runner. Its `losses` field counts them. An id a worker moved off its queue but never
-- marked goes back to the queue. A job still running past its deadline (claim time + timeout
-- + a grace, set by claim.lua) fails ("timed out"), whatever its runner does: the backstop for
-- runners that do not enforce timeouts; one that asked to be retried after an error, with
-- retries left, backs off as `scheduled` instead, as finish.lua does. Only the in-flight
-- lists are scanned, so the cost is the number of running jobs, and the job path pays
-- nothing for the backstop.
-- Safe to run from several supervisors at once: each worker is reaped in one step, and only
-- jobs still in the state that made them due are changed.
-- KEYS: workers lease index
-- ARGV: in-flight key prefix, job key prefix, queue key prefix, now (RFC 3339),
--       runner-lost result json, events channel, timed-out result json, stopped result json,
--       lost-too-often result json, most losses
-- A lost job whose stop was asked ends `stopped`: the caller's wish, and what it waits for.
-- Returns {failed, requeued, timed out}.
local t = redis.call('TIME')
local now_ms = t[1] * 1000 + math.floor(t[2] / 1000)
local failed, requeued, timed_out = 0, 0, 0

local ns = string.sub(ARGV[2], 1, #ARGV[2] - 4)

-- Every job it ends was running.
local function finish(key, id, status, result)
  restatus(ns, id, 'running', status)
  redis.call('HSET', key, 'status', status, 'result', result,
    'completed_at', ARGV[4], 'updated_at', ARGV[4])
  redis.call('HDEL', key, 'stop')
  retain(ns, id, status)
  local who = redis.call('HMGET', key, 'runner', 'owner', 'claimed_ms')
  count_end(ns, who[1], status)
  redis.call('PUBLISH', ARGV[6], id .. '\n' .. status)
  redis.call('PUBLISH', chan(ns, 'changes'), status .. '\n' .. now_ms .. '\n' ..
    change_line(id, who[1], who[2], who[3], now_ms))
end

for _, worker in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms, 'LIMIT', 0, 100)) do
  local inflight = ARGV[1] .. worker
  for _, id in ipairs(redis.call('LRANGE', inflight, 0, -1)) do
    local key = ARGV[2] .. id
    local state = redis.call('HMGET', key, 'status', 'worker', 'runner', 'retries', 'requeues',
      'stop', 'losses', 'errors')
    if state[1] == 'running' and state[2] == worker then
      local retries = tonumber(state[4] or '0') or 0
      local requeues = tonumber(state[5] or '0') or 0
      -- Runs again after an error (retry_on_error, see finish.lua) use the same retries.
      local reruns = requeues + (tonumber(state[8] or '0') or 0)
      local losses = (tonumber(state[7] or '0') or 0) + 1
      redis.call('HSET', key, 'losses', losses)
      if state[6] == '1' then
        finish(key, id, 'stopped', ARGV[8])
        failed = failed + 1
      elseif losses >= tonumber(ARGV[10]) then
        finish(key, id, 'failed', ARGV[9])
        failed = failed + 1
      elseif reruns < retries then
        restatus(ns, id, 'running', 'queued')
        redis.call('HSET', key, 'status', 'queued', 'updated_at', ARGV[4],
          'requeues', requeues + 1, 'queued_ms', now_ms)
        redis.call('HDEL', key, 'worker', 'attempt', 'started_at', 'deadline', 'claimed_ms',
        'progress')
        local priority = tonumber(redis.call('HGET', key, 'priority') or '0') or 0
        if priority > 0 then
          -- The front of its priority (see heartbeat.lua), waking a runner blocked on the
          -- empty list.
          redis.call('ZADD', ns .. 'pqueue:' .. state[3],
            string.format('%.0f', (10 - priority) * 1e13), id)
          if redis.call('LLEN', ARGV[3] .. state[3]) == 0 then
            redis.call('LPUSH', ARGV[3] .. state[3], '!wake')
          end
        else
          redis.call('RPUSH', ARGV[3] .. state[3], id)
        end
        redis.call('PUBLISH', chan(ns, 'changes'), 'queued\n' .. now_ms .. '\n' .. id .. ' ' ..
          state[3] .. ' ' .. (redis.call('HGET', key, 'owner') or ''))
        requeued = requeued + 1
      else
        finish(key, id, 'failed', ARGV[5])
        failed = failed + 1
      end
    elseif state[1] == 'queued' and not redis.call('LPOS', ARGV[3] .. state[3], id) then
      -- Its own runner's queue, which may hold it already if its job was created again.
      redis.call('RPUSH', ARGV[3] .. state[3], id)
    end
  end
  redis.call('DEL', inflight)
  redis.call('ZREM', KEYS[1], worker)
end

-- A job past its deadline that asked to be retried after an error, with retries left and
-- no stop asked, backs off as `scheduled` as finish.lua does for a failed run; returns false
-- when it is to end instead.
local function retry_later(key, id)
  local r = redis.call('HMGET', key, 'retry', 'retries', 'requeues', 'errors', 'backoff',
    'stop', 'runner', 'owner')
  local errors = tonumber(r[4] or '0') or 0
  local reruns = (tonumber(r[3] or '0') or 0) + errors
  if r[1] ~= '1' or r[6] == '1' or reruns >= (tonumber(r[2] or '0') or 0) then
    return false
  end
  errors = errors + 1
  local wait = math.min((tonumber(r[5] or '1') or 1) * 2 ^ (errors - 1), 86400) * 1000
  local due = now_ms + math.floor(wait * (0.5 + 0.5 * ((t[2] % 1000) / 999)))
  restatus(ns, id, 'running', 'scheduled')
  redis.call('HSET', key, 'status', 'scheduled', 'errors', errors, 'updated_at', ARGV[4])
  redis.call('HDEL', key, 'worker', 'attempt', 'started_at', 'deadline', 'claimed_ms',
    'progress')
  redis.call('ZADD', ns .. 'scheduled', due, id)
  if redis.call('ZRANGE', ns .. 'scheduled', 0, 0)[1] == id then
    redis.call('PUBLISH', chan(ns, 'events'), '\nscheduled')
  end
  redis.call('PUBLISH', chan(ns, 'changes'), 'scheduled\n' .. now_ms .. '\n' .. id .. ' ' ..
    r[7] .. ' ' .. (r[8] or ''))
  return true
end

local ok, decoded = pcall(cjson.decode, ARGV[7])
local timeout_error = ok and type(decoded) == 'table' and decoded.error or 'timed out'
for _, worker in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local inflight = ARGV[1] .. worker
  for _, id in ipairs(redis.call('LRANGE', inflight, 0, -1)) do
    local key = ARGV[2] .. id
    local state = redis.call('HMGET', key, 'status', 'worker', 'deadline')
    if state[1] == 'running' and state[2] == worker and state[3]
        and tonumber(state[3]) < now_ms then
      redis.call('LREM', inflight, 1, id)
      redis.call('HSET', key, 'last_error', timeout_error)
      if not retry_later(key, id) then
        finish(key, id, 'failed', ARGV[7])
      end
      timed_out = timed_out + 1
    end
  end
end
return {failed, requeued, timed_out}
