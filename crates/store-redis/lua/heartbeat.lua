-- Renews a worker's lease and tells it which of the runs it executes it should give up.
-- The queues of the jobs it runs are marked seen: a busy runner claims nothing, yet is alive.
-- Ids in its in-flight list that are still `queued` were moved there by a claim whose second
-- half (claim.lua marking them) never ran, e.g. its reply was lost: they go back to the
-- taking end of their queue, so a live worker never sits on them; ids of jobs deleted or
-- ended meanwhile are dropped from the list. A claim that marks its
-- moved id later finds it gone from the list and leaves it (see claim.lua).
-- KEYS: workers lease index, queues' last-seen hash, worker's in-flight list
-- ARGV: worker, lease (ms), job key prefix, queue key prefix, then the runs the worker
--       executes as pairs: id, attempt token
-- Returns the runs among them, as a flat list of id, attempt token, that were asked to stop
-- or that the worker no longer holds under that token (ended by the supervisor, requeued,
-- deleted even if the id was reused since, or taken over).
local t = redis.call('TIME')
local now_ms = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[2]), ARGV[1])
local give_up = {}
for i = 5, #ARGV, 2 do
  local id, attempt = ARGV[i], ARGV[i + 1]
  local state = redis.call('HMGET', ARGV[3] .. id, 'status', 'worker', 'stop', 'runner',
    'attempt')
  if state[1] ~= 'running' or state[2] ~= ARGV[1] or state[3] == '1' or state[5] ~= attempt then
    table.insert(give_up, id)
    table.insert(give_up, attempt)
  else
    redis.call('HSET', KEYS[2], state[4], now_ms)
  end
end
local returned = {}
for _, id in ipairs(redis.call('LRANGE', KEYS[3], 0, -1)) do
  if not returned[id] then
    local state = redis.call('HMGET', ARGV[3] .. id, 'status', 'runner', 'worker')
    if state[1] == 'queued' then
      returned[id] = true
      redis.call('LREM', KEYS[3], 0, id)
      redis.call('RPUSH', ARGV[4] .. state[2], id)
    elseif state[1] ~= 'running' or state[3] ~= ARGV[1] then
      -- Deleted or ended after it was moved: nothing of it runs here.
      redis.call('LREM', KEYS[3], 0, id)
    end
  end
end
return give_up
