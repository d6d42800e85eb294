-- Erase, in a discovery hash's slot: deletes the pending match the erased user filed under the
-- hash, with its expiry index entry, in one step (the index entry is how an erase finds it).
-- KEYS[1]  pb:pend:{<hash>}, pending matches: requester -> "<expiry>:<ticket>"
-- KEYS[2]  pb:pendx:{<tag of the hash's slot>}, expiry index shard: '<hash>:<requester>' by expiry
-- ARGV[1]  the erased uid, the requester
-- ARGV[2]  the index member '<hash>:<uid>'
-- Returns 1 when anything was deleted, else 0.
local field = redis.call('HDEL', KEYS[1], ARGV[1])
local member = redis.call('ZREM', KEYS[2], ARGV[2])
if field + member > 0 then
  return 1
end
return 0
