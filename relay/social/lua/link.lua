-- Step 2 of a friend operation, in the other user's slot: brings their side of the link in line
-- with the actor's side. A compare-and-set from the states it expects, so applying it again
-- changes nothing, and concurrent actions of both users converge (relay/social/links.ts):
--   actor 'o' (asked):   none -> 'i'; 'o' (both asked at once) -> 'f00'; 'f' (stale) -> 'i';
--                        'i', 'd' stay
--   actor 'f' (friends): 'o' (the request accepted) -> 'f00'; anything else stays (switches kept)
--   actor 'x' (no link): 'i', 'd', 'f' -> gone; 'o' (their own request, newer) stays
-- KEYS[1]  pb:{other}:fr, the other user's links
-- ARGV[1]  the actor
-- ARGV[2]  the actor's side: 'o' | 'f' | 'x'; anything else changes nothing
-- Returns 1 when the other side changed, 0 when it already agreed.
local actor, a = ARGV[1], ARGV[2]
local b = redis.call('HGET', KEYS[1], actor)
local function set(v)
  redis.call('HSET', KEYS[1], actor, v)
  return 1
end
if a == 'o' then
  if not b then
    return set('i')
  end
  if b == 'o' then
    return set('f00')
  end
  if string.sub(b, 1, 1) == 'f' then
    return set('i')
  end
  return 0
end
if a == 'f' then
  if b == 'o' then
    return set('f00')
  end
  return 0
end
if a == 'x' then
  if b and b ~= 'o' then
    redis.call('HDEL', KEYS[1], actor)
    return 1
  end
  return 0
end
return 0
