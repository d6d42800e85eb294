-- The last step of an erase, once every other step of it is done: the registry, the public key,
-- the seen-index member and, with them, the journal entry.
-- KEYS[1]  pb:{uid}:d, the device registry
-- KEYS[2]  pb:{uid}:pk, the identity's public key
-- KEYS[3]  pb:seen:{T(s)}, the seen index shard of uid's slot
-- KEYS[4]  pb:erase:{T(s)}, the erase journal shard of uid's slot
-- ARGV[1]  uid
-- Returns 1 when the journal held uid.
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
return redis.call('ZREM', KEYS[4], ARGV[1])
