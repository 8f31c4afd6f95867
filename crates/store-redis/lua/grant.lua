-- Records a secret's grant unless it takes the last admin secret's level away, and announces
-- the change.
-- The admins are the caller's config admin secrets that no grant overrides, plus every secret
-- granted `admin`: counted and changed in one step, so two changes at once cannot each
-- remove the other's last admin.
-- KEYS: secrets hash
-- ARGV: secret's hash, grant, events channel, announcement, config admin hashes...
-- Returns 1, or 0 when the secret is the last admin and would be one no more (nothing changes).
local admins = {}
for i = 5, #ARGV do
  admins[ARGV[i]] = true
end
local grants = redis.call('HGETALL', KEYS[1])
for i = 1, #grants, 2 do
  -- A grant overrides the config: an admin of the config granted `user` is a user.
  admins[grants[i]] = (grants[i + 1] == 'admin') or nil
end
if admins[ARGV[1]] and ARGV[2] ~= 'admin' then
  admins[ARGV[1]] = nil
  if next(admins) == nil then
    return 0
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
