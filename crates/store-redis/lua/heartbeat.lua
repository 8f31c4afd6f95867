-- Renews a worker's lease and reports which of its in-flight jobs were asked to stop.
-- KEYS: workers lease index, worker's in-flight list
-- ARGV: worker, lease (ms), job key prefix
-- Returns the ids whose stop was requested.
local t = redis.call('TIME')
redis.call('ZADD', KEYS[1], t[1] * 1000 + math.floor(t[2] / 1000) + tonumber(ARGV[2]), ARGV[1])
local stops = {}
for _, id in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
  if redis.call('HGET', ARGV[3] .. id, 'stop') == '1' then
    table.insert(stops, id)
  end
end
return stops
