-- The second half of a turn's proximityFriends on a standalone server (friends-proximity.lua the
-- first): whether each candidate switched proximity on for the user who asked.
-- KEYS[1..n] pb:{candidate}:fr of each candidate
-- ARGV[1..n] the user asking, one per key
-- Returns, per key in order, 1 when the candidate's field for that user is 'f1...', else 0.
local out = {}
for i = 1, #KEYS do
  local v = redis.call('HGET', KEYS[i], ARGV[i])
  out[i] = (v and string.sub(v, 1, 2) == 'f1') and 1 or 0
end
return out
