-- A legacy (v1-3) authentication: the account is seen, unless an erase of it is under way.
-- KEYS[1]  pb:{uid}:d, the device registry (a legacy user has none, unless being erased)
-- KEYS[2]  pb:seen:{T(s)}, the seen index shard of uid's slot
-- ARGV[1]  uid
-- ARGV[2]  now (relay ms)
-- Returns 1 when seen, 0 when the account is being erased.
if redis.call('HEXISTS', KEYS[1], 'x') == 1 then
  return 0
end
redis.call('ZADD', KEYS[2], 'GT', ARGV[2], ARGV[1])
return 1
