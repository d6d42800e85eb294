-- Takes a lease when it is free, renews it when the caller holds it (relay/redis/lease.ts).
-- KEYS[1]  the lease (a string: the holder)
-- ARGV[1]  the caller, who would hold it
-- ARGV[2]  how long the lease lasts from now, in ms
-- Returns 1 when the caller holds the lease now, 0 when somebody else does.
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
