-- An erase asked: marks the registry erased (creating it for a legacy user: the mailbox reads
-- only its mask, absent there) and files uid in the erase journal. Idempotent.
-- KEYS[1]  pb:{uid}:d, the device registry
-- KEYS[2]  pb:erase:{T(s)}, the erase journal shard of uid's slot
-- ARGV[1]  uid
-- ARGV[2]  now (relay ms)
-- Returns 1 when uid was filed now, 0 when the journal held it.
redis.call('HSETNX', KEYS[1], 'x', ARGV[2])
return redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[1])
