-- Takes a user's entry off a hash they leave, in the hash's slot, unless someone else has taken
-- the hash since.
-- KEYS[1]  pb:disc:{<hash>}, the entry: "<end>:<uid>"
-- ARGV[1]  uid
-- Returns 1 when deleted, 0 when the entry was gone or someone else's.
local v = redis.call('GET', KEYS[1])
if v and select(2, timed(v)) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
