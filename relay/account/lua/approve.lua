-- Step 2 of an approval (relay/account/redis.ts): the device index entry pb:dev:{did} already
-- names uid and `slot`; this fills the slot with a pending device and its box.
-- KEYS[1]  pb:{uid}:d, the device registry
-- ARGV[1]  did
-- ARGV[2]  slot, the lowest free one when the caller read the registry
-- ARGV[3]  box, the sealed identity secret (base64url)
-- ARGV[4]  now (relay ms)
-- ARGV[5]  maxDevices
-- Returns 'ok' | 'exists' | 'taken' | 'full' | 'busy' (the slot was taken meanwhile: read again).
local slot = tonumber(ARGV[2])
local f = redis.call('HMGET', KEYS[1], 'x', 'm', 'r' .. ARGV[1])
if f[1] or f[3] or not f[2] then
  return 'taken'
end
local mask = tonumber(f[2])
local recs = records(KEYS[1])
if slot_of(recs, ARGV[1]) then
  return 'exists'
end
if popcount(mask) >= tonumber(ARGV[5]) then
  return 'full'
end
if live(mask, slot) or recs[slot + 1] then
  return 'busy'
end
local now = tonumber(ARGV[4])
redis.call('HSET', KEYS[1], 'm', fmt(bit.bor(mask, bit.lshift(1, slot))), 's' .. slot,
  pack(ARGV[1], now, now, 'p'), 'b' .. slot, ARGV[3])
redis.call('HINCRBY', KEYS[1], 'v', 1)
return 'ok'
