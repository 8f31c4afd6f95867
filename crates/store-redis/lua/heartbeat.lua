-- Renews a worker's lease and tells it which of the jobs it runs it should give up.
-- KEYS: workers lease index
-- ARGV: worker, lease (ms), job key prefix, then the ids of the jobs the worker runs
-- Returns the ids among them that were asked to stop, or that the worker no longer holds
-- (ended by the supervisor, deleted, or taken over).
local t = redis.call('TIME')
redis.call('ZADD', KEYS[1], t[1] * 1000 + math.floor(t[2] / 1000) + tonumber(ARGV[2]), ARGV[1])
local give_up = {}
for i = 4, #ARGV do
  local state = redis.call('HMGET', ARGV[3] .. ARGV[i], 'status', 'worker', 'stop')
  if state[1] ~= 'running' or state[2] ~= ARGV[1] or state[3] == '1' then
    table.insert(give_up, ARGV[i])
  end
end
return give_up
