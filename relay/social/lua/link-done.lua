-- Step 3 of a friend operation, in the actor's slot: clears the pair's outbox entry, unless it
-- was filed again or claimed by a re-drive since (its score is no longer the one given).
-- KEYS[1]  pb:linkq:{<tag of the actor's slot>}, the link outbox
-- ARGV[1]  the member, '<actor>:<other>'
-- ARGV[2]  the score that step 1 (or the claim) wrote
-- Returns 1 when cleared, 0 when the entry was gone or newer.
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 1
end
return 0
