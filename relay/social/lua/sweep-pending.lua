-- Deletes due pending matches of one slot, with their expiry index entries. The caller read the
-- due members (ZRANGEBYSCORE) and passes each with its hash's pending key; a member renewed since
-- (scored later now) is left alone.
-- KEYS[1]       pb:pendx:{<tag of the slot>}, the slot's expiry index shard
-- KEYS[2..n+1]  pb:pend:{<hash>} of each member, in the same order
-- ARGV[1]       now (relay ms)
-- ARGV[2..n+1]  the members, '<hash>:<requester>'
-- Returns the number of pending matches deleted.
local now = tonumber(ARGV[1])
local removed = 0
for i = 2, #ARGV do
  local member = ARGV[i]
  local score = redis.call('ZSCORE', KEYS[1], member)
  if score and tonumber(score) <= now then
    local requester = string.match(member, '^[^:]+:(.+)$')
    local v = redis.call('HGET', KEYS[i], requester)
    if v and timed(v) <= now then
      redis.call('HDEL', KEYS[i], requester)
      removed = removed + 1
    end
    redis.call('ZREM', KEYS[1], member)
  end
end
return removed
