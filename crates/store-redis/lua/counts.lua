-- Counts jobs by status.
-- KEYS: jobs index
-- ARGV: job key prefix
-- Returns [status, count, status, count, …].
local counts = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local status = redis.call('HGET', ARGV[1] .. id, 'status')
  if status then
    counts[status] = (counts[status] or 0) + 1
  end
end
local flat = {}
for status, count in pairs(counts) do
  table.insert(flat, status)
  table.insert(flat, count)
end
return flat
