-- Step 1 of a friend operation, in the actor's slot (relay/social/links.ts): changes the
-- actor's own side and, when the other side must follow, files the pair in the link outbox of
-- the actor's slot. Step 2 (link.lua) then brings the other side in line, step 3
-- (link-done.lua) clears the entry; the sweeper re-drives an entry left behind (link-claim.lua).
-- KEYS[1]  pb:{uid}:fr, the actor's links: other -> 'o' | 'i' | 'd' | 'f<p><a>'
-- KEYS[2]  pb:linkq:{<tag of uid's slot>}, the link outbox (zset '<uid>:<other>' by time)
-- ARGV[1]  op: request | accept | decline | remove | consent
-- ARGV[2]  other, the user at the other end of the link
-- ARGV[3]  the outbox member, '<uid>:<other>'
-- ARGV[4]  now (relay ms), the outbox entry's score
-- ARGV[5]  consent only: the switches '<p><a>', each '0' or '1'
-- Returns {answer, side}: answer 'requested' | 'friends' | 'already' (request), '1' | '0' (the
-- others), or 'busy' when the pair's previous entry is still in the outbox (the caller finishes
-- it first, so one user's changes to a pair reach the other side in order); side is what the
-- other side must follow ('o' asked, 'f' friends, 'x' no link), '' when nothing.
local op, other, member = ARGV[1], ARGV[2], ARGV[3]
local s = redis.call('HGET', KEYS[1], other)
local friends = s and string.sub(s, 1, 1) == 'f'

if op == 'decline' then
  if s ~= 'i' then
    return {'0', ''}
  end
  redis.call('HSET', KEYS[1], other, 'd')
  return {'1', ''}
end
if op == 'consent' then
  if not friends then
    return {'0', ''}
  end
  redis.call('HSET', KEYS[1], other, 'f' .. ARGV[5])
  return {'1', ''}
end

if redis.call('ZSCORE', KEYS[2], member) then
  return {'busy', ''}
end
local function file(answer, side)
  redis.call('ZADD', KEYS[2], ARGV[4], member)
  return {answer, side}
end

if op == 'request' then
  if friends or s == 'o' then
    return {'already', ''}
  end
  if s == 'i' or s == 'd' then
    redis.call('HSET', KEYS[1], other, 'f00')
    return file('friends', 'f')
  end
  redis.call('HSET', KEYS[1], other, 'o')
  return file('requested', 'o')
end
if op == 'accept' then
  if s ~= 'i' then
    return {'0', ''}
  end
  redis.call('HSET', KEYS[1], other, 'f00')
  return file('1', 'f')
end
if op == 'remove' then
  if not friends and s ~= 'o' then
    return {'0', ''}
  end
  -- A hash left empty is deleted by Redis itself.
  redis.call('HDEL', KEYS[1], other)
  return file('1', 'x')
end
return redis.error_reply('unknown friend op')
