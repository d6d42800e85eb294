-- Erase, in another user's slot: takes the erased user off that user's link list and drops that
-- user's link-outbox entry toward the erased user, in one step (so a crash cannot leave the
-- field with nothing left that points a later run at it).
-- KEYS[1]  pb:{other}:fr, the other user's links
-- KEYS[2]  pb:linkq:{<tag of other's slot>}, the link outbox of other's slot
-- ARGV[1]  the erased uid: the field to delete
-- ARGV[2]  the outbox member '<other>:<uid>'
-- Returns 1 when anything was deleted, else 0.
local field = redis.call('HDEL', KEYS[1], ARGV[1])
local member = redis.call('ZREM', KEYS[2], ARGV[2])
if field + member > 0 then
  return 1
end
return 0
