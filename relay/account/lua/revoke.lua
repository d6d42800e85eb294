-- Revokes a device: its slot leaves the live mask, its record and box go, a tombstone stays (so
-- it hears device_revoked). Its index entry pb:dev:{did} is kept until the account is erased.
-- KEYS[1]  pb:{uid}:d, the device registry
-- ARGV[1]  did
-- ARGV[2]  now (relay ms)
-- Returns {'ok', slot} | {'unknown'} | {'last'}.
local f = redis.call('HMGET', KEYS[1], 'x', 'm')
if f[1] or not f[2] then
  return {'unknown'}
end
local mask = tonumber(f[2])
local slot = slot_of(records(KEYS[1]), ARGV[1])
if not slot then
  return {'unknown'}
end
if popcount(mask) <= 1 then
  return {'last'}
end
free_slot(KEYS[1], mask, slot)
redis.call('HSET', KEYS[1], 'r' .. ARGV[1], ARGV[2])
return {'ok', slot}
