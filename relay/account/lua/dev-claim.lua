-- Step 1 of a registration or an approval: points the device index entry at uid's slot, unless
-- it names something else than the value the caller found to be an orphan (relay/account/redis.ts).
-- KEYS[1]  pb:dev:{did}, the device index entry: '<uid>:<slot>'
-- ARGV[1]  the value to write, '<uid>:<slot>'
-- ARGV[2]  a value that may be replaced (an orphan the caller checked), '' for none
-- Returns '' when the entry holds ARGV[1] now, else the value it holds.
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] and cur ~= ARGV[2] then
  return cur
end
redis.call('SET', KEYS[1], ARGV[1])
return ''
