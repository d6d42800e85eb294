-- Claims an outbox entry for a re-drive (or a step 1 that found its pair busy), in the actor's
-- slot: when the entry is at most `cutoff` old, scores it `now` (another re-drive leaves it
-- alone for the age again) and returns the actor's side as it is now, which step 2 applies.
-- KEYS[1]  pb:linkq:{<tag of the actor's slot>}, the link outbox
-- KEYS[2]  pb:{actor}:fr, the actor's links
-- ARGV[1]  the member, '<actor>:<other>'
-- ARGV[2]  other
-- ARGV[3]  cutoff: entries scored above it are left (a normal step 2 may be under way)
-- ARGV[4]  now (relay ms), the claim's score
-- Returns {} when there is nothing to claim, else {side, score}: side 'o' | 'f' | 'x', or '-'
-- when the actor's side ('i', 'd') asks nothing of the other side.
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[3]) then
  return {}
end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
local s = redis.call('HGET', KEYS[2], ARGV[2])
local side = '-'
if not s then
  side = 'x'
elseif s == 'o' then
  side = 'o'
elseif string.sub(s, 1, 1) == 'f' then
  side = 'f'
end
return {side, ARGV[4]}
