-- Makes a user discoverable under a hash, in the hash's slot, and hands over the hash's pending
-- matches (all of them leave, with their expiry index entries).
-- KEYS[1]  pb:disc:{<hash>}, the entry: "<end>:<uid>"
-- KEYS[2]  pb:pend:{<hash>}, pending matches: requester -> "<expiry>:<ticket>"
-- KEYS[3]  pb:pendx:{<tag of the hash's slot>}, expiry index shard: '<hash>:<requester>' by expiry
-- ARGV[1]  uid
-- ARGV[2]  hash
-- ARGV[3]  now (relay ms)
-- ARGV[4]  ttl (ms)
-- Returns {requester1, ticket1, ...}: the live matches, not uid's own.
local uid, hash = ARGV[1], ARGV[2]
local now, ttl = tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('SET', KEYS[1], fmt(now + ttl) .. ':' .. uid, 'PX', ttl)
local all = redis.call('HGETALL', KEYS[2])
local out = {}
if #all == 0 then
  return out
end
redis.call('DEL', KEYS[2])
for i = 1, #all, 2 do
  redis.call('ZREM', KEYS[3], hash .. ':' .. all[i])
  local exp, ticket = timed(all[i + 1])
  if exp > now and all[i] ~= uid then
    out[#out + 1] = all[i]
    out[#out + 1] = ticket
  end
end
return out
