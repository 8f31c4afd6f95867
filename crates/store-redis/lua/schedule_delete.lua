-- Deletes a schedule, when the expected owner owns it. The jobs its ticks created stay.
-- KEYS: schedules hash
-- ARGV: name, expected owner ("" for any)
-- Returns 1, or 0 when there is no such schedule or it has another owner.
local json = redis.call('HGET', KEYS[1], ARGV[1])
if not json then
  return 0
end
if ARGV[2] ~= '' then
  local ok, record = pcall(cjson.decode, json)
  if not ok or record.owner ~= ARGV[2] then
    return 0
  end
end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
