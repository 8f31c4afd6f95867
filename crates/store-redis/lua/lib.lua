-- Helpers shared by the scripts: the store loads each script with this file in front of it
-- (`crates/store-redis/src/scripts.rs`), and so must a runner in another language that runs
-- them (see docs/runner-protocol.md).

-- Moves a job between the status indexes ({ns}idx:status:<status>), keeping its creation
-- time (ms, the jobs index's score) as its score there. Returns that score (nil when the job
-- is not indexed).
local function restatus(ns, id, from, to)
  local score = redis.call('ZSCORE', ns .. 'jobs', id)
  redis.call('ZREM', ns .. 'idx:status:' .. from, id)
  if score then
    redis.call('ZADD', ns .. 'idx:status:' .. to, score, id)
  end
  return score
end

-- Counts a job of `runner` that reached the final `status` in {ns}stats (field
-- `finished:<runner>:<status>`), the counter `/metrics` reads: one HINCRBY per job end.
local function count_end(ns, runner, status)
  redis.call('HINCRBY', ns .. 'stats', 'finished:' .. runner .. ':' .. status, 1)
end

-- The job line of a change announcement (see docs/runner-protocol.md, "Job changes"):
-- `ID RUNNER OWNER`, followed by ` MS` when `since_ms` (a Redis-clock time) is known: the
-- milliseconds from it to `now_ms`, never below 0.
local function change_line(id, runner, owner, since_ms, now_ms)
  local line = id .. ' ' .. runner .. ' ' .. (owner or '')
  local since = tonumber(since_ms or '')
  if since then
    line = line .. ' ' .. string.format('%.0f', math.max(now_ms - since, 0))
  end
  return line
end

-- Schedules a job that just became final for removal: its deadline (Redis ms) in
-- {ns}expiry is now (`now_ms`, or the Redis clock when not given) plus the retention of its
-- status, read from {ns}retention (ms per status, written by the supervisor) or the defaults
-- (1 day completed, 7 days otherwise) when absent.
local function retain(ns, id, status, now_ms)
  local defaults = {completed = 86400000, failed = 604800000, stopped = 604800000}
  local keep = tonumber(redis.call('HGET', ns .. 'retention', status) or '') or defaults[status]
  if not keep then
    return
  end
  if not now_ms then
    local t = redis.call('TIME')
    now_ms = t[1] * 1000 + math.floor(t[2] / 1000)
  end
  redis.call('ZADD', ns .. 'expiry', now_ms + keep, id)
end

-- Puts a job in {ns}scheduled, due at `due` (ms); when it is now the earliest there, tells
-- the supervisors' promoters on the events channel, so they wake before they had planned.
local function schedule(ns, id, due)
  redis.call('ZADD', ns .. 'scheduled', due, id)
  if redis.call('ZRANGE', ns .. 'scheduled', 0, 0)[1] == id then
    redis.call('PUBLISH', ns .. 'events', '\nscheduled')
  end
end

-- Puts a job on its runner's queue (see docs/runner-protocol.md, "Priorities"): priority 0
-- on the list {ns}queue:<runner>, pushed on the left; a higher one in the sorted set
-- {ns}pqueue:<runner>, scored so that the highest priority, then the first queued, comes
-- first, with a wake marker on the list when that is empty, so a runner blocked on it wakes.
local function enqueue(ns, id, runner, priority)
  local p = tonumber(priority or '0') or 0
  local queue = ns .. 'queue:' .. runner
  if p <= 0 then
    redis.call('LPUSH', queue, id)
    return
  end
  local seq = redis.call('INCR', ns .. 'pseq')
  redis.call('ZADD', ns .. 'pqueue:' .. runner, string.format('%.0f', (10 - p) * 1e13 + seq), id)
  if redis.call('LLEN', queue) == 0 then
    redis.call('LPUSH', queue, '!wake')
  end
end

