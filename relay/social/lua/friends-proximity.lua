-- The first half of a turn's proximityFriends on a standalone server: each user's friends for
-- whom the user switched proximity on ('f1' fields). The second half (friends-mutual.lua) asks
-- each of them whether they switched it on for the user (C1).
-- KEYS[1..n] pb:{uid}:fr of each user
-- Returns, per key in order, the list of those friends' IDs.
local out = {}
for i = 1, #KEYS do
  local all = redis.call('HGETALL', KEYS[i])
  local on = {}
  for j = 1, #all, 2 do
    if string.sub(all[j + 1], 1, 2) == 'f1' then
      on[#on + 1] = all[j]
    end
  end
  out[i] = on
end
return out
