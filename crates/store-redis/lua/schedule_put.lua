-- Stores a schedule unless its name is taken or the namespace holds as many as it may: the
-- count and the write are one step, so supervisors creating schedules at once cannot pass
-- the limit together.
-- KEYS: schedules hash
-- ARGV: name, record JSON, most schedules
-- Returns 1 when stored, 0 when the name is taken, -1 when the limit is reached.
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  return 0
end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then
  return -1
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
