-- Resolves one hash, in the hash's slot. On a miss, files (or renews) the requester's pending
-- match: a live one keeps its ticket; expired ones met on the way are dropped. Each entry is
-- indexed by its own expiry in the slot's shard of the expiry index, which sweep-pending.lua
-- empties, so none outlives its expiry by more than a sweep, whatever later look-ups do to the
-- key's TTL (the latest expiry).
-- KEYS[1]  pb:disc:{<hash>}, the entry: "<end>:<uid>"
-- KEYS[2]  pb:pend:{<hash>}, pending matches: requester -> "<expiry>:<ticket>"
-- KEYS[3]  pb:pendx:{<tag of the hash's slot>}, expiry index shard: '<hash>:<requester>' by expiry
-- ARGV[1]  uid, the requester
-- ARGV[2]  hash
-- ARGV[3]  now (relay ms)
-- ARGV[4]  ttl (ms) of a pending match
-- ARGV[5]  a fresh ticket, used when uid has no live one
-- Returns {id, ticket}: the user found and '', or '' and the ticket.
local uid, hash = ARGV[1], ARGV[2]
local now, ttl = tonumber(ARGV[3]), tonumber(ARGV[4])
local v = redis.call('GET', KEYS[1])
if v then
  local e, who = timed(v)
  if e > now then
    return {who, ''}
  end
end
local exp = fmt(now + ttl)
local ticket = ARGV[5]
local all = redis.call('HGETALL', KEYS[2])
for j = 1, #all, 2 do
  local e, t = timed(all[j + 1])
  if e <= now then
    redis.call('HDEL', KEYS[2], all[j])
    redis.call('ZREM', KEYS[3], hash .. ':' .. all[j])
  elseif all[j] == uid then
    ticket = t
  end
end
redis.call('HSET', KEYS[2], uid, exp .. ':' .. ticket)
redis.call('ZADD', KEYS[3], exp, hash .. ':' .. uid)
if redis.call('PTTL', KEYS[2]) < ttl then
  redis.call('PEXPIRE', KEYS[2], ttl)
end
-- A backstop, should no relay sweep: the shard lives no longer than its latest entry. ('<=': a
-- shard just renewed by another hash of the slot in the same millisecond is renewed again, the
-- same work whatever the timing.)
if redis.call('PTTL', KEYS[3]) <= ttl then
  redis.call('PEXPIRE', KEYS[3], ttl)
end
return {'', ticket}
