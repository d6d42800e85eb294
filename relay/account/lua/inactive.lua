-- The inactive sweep of one shard: each uid still unseen since ARGV[1] is filed in the erase
-- journal (as erase-mark.lua) and leaves the seen index.
-- KEYS[1]  pb:seen:{T(s)}, the seen index shard
-- KEYS[2]  pb:erase:{T(s)}, the erase journal shard of the same slot
-- KEYS[3..n+2]  pb:{uid}:d of each uid, in ARGV's order
-- ARGV[1]  idleBefore (ms)
-- ARGV[2]  now (relay ms)
-- ARGV[3..n+2]  the uids
-- Returns how many were filed.
local idle = tonumber(ARGV[1])
local filed = 0
for i = 3, #ARGV do
  local seen = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if seen and tonumber(seen) <= idle then
    redis.call('HSETNX', KEYS[i], 'x', ARGV[2])
    redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[i])
    redis.call('ZREM', KEYS[1], ARGV[i])
    filed = filed + 1
  end
end
return filed
