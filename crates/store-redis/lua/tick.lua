-- Claims one tick of a schedule: moves its `last_tick` forward to this tick when it is
-- earlier, so of all the supervisors claiming the same tick exactly one succeeds.
-- The record is written by the store with `last_tick` as its first field; only that number is
-- replaced, so the job template is stored byte for byte as it was (re-encoding it here could
-- change it: Lua cannot tell an empty JSON array from an empty object).
-- KEYS: schedules hash
-- ARGV: name, seed (the schedule's incarnation), tick (ms since the epoch)
-- Returns {1} when claimed, {0, last_tick} when this or a later tick was claimed already,
-- {-1} when no schedule of that name and seed exists.
local json = redis.call('HGET', KEYS[1], ARGV[1])
if not json then
  return {-1}
end
local record = cjson.decode(json)
if record.seed ~= ARGV[2] then
  return {-1}
end
local head = '{"last_tick":' .. string.format('%d', record.last_tick) .. ','
if string.sub(json, 1, #head) ~= head then
  return redis.error_reply('schedule ' .. ARGV[1] .. ' is not stored in the expected form')
end
local tick = tonumber(ARGV[3])
if record.last_tick >= tick then
  return {0, record.last_tick}
end
redis.call('HSET', KEYS[1], ARGV[1],
  '{"last_tick":' .. ARGV[3] .. ',' .. string.sub(json, #head + 1))
return {1}
