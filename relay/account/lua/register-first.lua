-- The first device of an identity that has no registry: its registry with the device at slot 0
-- (linked: it is connecting), the identity's public key, the seen index. The device index entry
-- pb:dev:{did} (another slot) was claimed before this call (relay/account/redis.ts).
-- KEYS[1]  pb:{uid}:d, the device registry
-- KEYS[2]  pb:{uid}:pk, the identity's public key (the mailbox store's register() writes it too)
-- KEYS[3]  pb:seen:{T(s)}, the seen index shard of uid's slot
-- ARGV[1]  uid
-- ARGV[2]  the identity public key (base64url)
-- ARGV[3]  did, the device ID
-- ARGV[4]  now (relay ms)
-- Returns 'ok' (also for a retry of the same did), 'exists' or 'erased'.
if redis.call('HEXISTS', KEYS[1], 'x') == 1 then
  return 'erased'
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  if record(redis.call('HGET', KEYS[1], 's0')) == ARGV[3] then
    return 'ok'
  end
  return 'exists'
end
local now = tonumber(ARGV[4])
redis.call('HSET', KEYS[1], 'm', '1', 'v', '1', 's0', pack(ARGV[3], now, now, 'l'), 'seen', ARGV[4])
redis.call('SET', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], 'GT', ARGV[4], ARGV[1])
return 'ok'
