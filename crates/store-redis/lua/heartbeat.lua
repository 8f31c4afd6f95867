-- Renews a worker's lease and tells it which of the jobs it runs it should give up.
-- The queues of the jobs it runs are marked seen: a busy runner claims nothing, yet is alive.
-- KEYS: workers lease index, queues' last-seen hash
-- ARGV: worker, lease (ms), job key prefix, then the ids of the jobs the worker runs
-- Returns the ids among them that were asked to stop, or that the worker no longer holds
-- (ended by the supervisor, deleted, or taken over).
local t = redis.call('TIME')
local now_ms = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[2]), ARGV[1])
local give_up = {}
for i = 4, #ARGV do
  local state = redis.call('HMGET', ARGV[3] .. ARGV[i], 'status', 'worker', 'stop', 'runner')
  if state[1] ~= 'running' or state[2] ~= ARGV[1] or state[3] == '1' then
    table.insert(give_up, ARGV[i])
  else
    redis.call('HSET', KEYS[2], state[4], now_ms)
  end
end
return give_up
