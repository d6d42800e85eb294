-- Replaces the list of blind-mode tokens a user posted (what postTokens withdraws next time),
-- in the user's slot, and returns the previous list for the caller to withdraw.
-- KEYS[1]       pb:{uid}:tok, a set of 'a' | 'n' + token
-- ARGV[1]       window (ms): the list lives no longer than its tokens
-- ARGV[2..n+1]  the new members, 'a' | 'n' + token
-- Returns the previous members.
local old = redis.call('SMEMBERS', KEYS[1])
if #old > 0 then
  redis.call('DEL', KEYS[1])
end
local members = {}
for i = 2, #ARGV do
  members[#members + 1] = ARGV[i]
  if #members == 1000 then
    redis.call('SADD', KEYS[1], unpack(members))
    members = {}
  end
end
if #members > 0 then
  redis.call('SADD', KEYS[1], unpack(members))
end
if #ARGV > 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return old
