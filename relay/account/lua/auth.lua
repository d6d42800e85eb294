-- Authenticates a device at the slot its index entry names: live and holding this did, it is
-- seen (device, account, seen index) and a pending device becomes linked.
-- KEYS[1]  pb:{uid}:d, the device registry
-- KEYS[2]  pb:seen:{T(s)}, the seen index shard of uid's slot
-- ARGV[1]  uid
-- ARGV[2]  did
-- ARGV[3]  the slot pb:dev:{did} names
-- ARGV[4]  now (relay ms)
-- Returns {'ok', box or '', live devices} | {'erased'} | {'revoked'} | {'unknown'}.
local slot = tonumber(ARGV[3])
local f = redis.call('HMGET', KEYS[1], 'x', 'm', 's' .. slot, 'b' .. slot, 'r' .. ARGV[2])
if f[1] then
  return {'erased'}
end
local mask = tonumber(f[2] or '0')
local did, created, _, state = record(f[3])
if did == ARGV[2] and live(mask, slot) then
  redis.call('HSET', KEYS[1], 's' .. slot, pack(did, created, tonumber(ARGV[4]), 'l'), 'seen', ARGV[4])
  if state == 'p' then
    redis.call('HINCRBY', KEYS[1], 'v', 1)
  end
  redis.call('ZADD', KEYS[2], 'GT', ARGV[4], ARGV[1])
  return {'ok', f[4] or '', popcount(mask)}
end
if f[5] then
  return {'revoked'}
end
return {'unknown'}
