-- Files a notice in a mailbox, once.
-- KEYS[1..8] BOX_KEYS of the mailbox (mailbox.lua)
-- ARGV[1] uid
-- ARGV[2] entry id n:<user>:<tag>
-- ARGV[3] now (ms)
-- ARGV[4] exp (ms)
-- ARGV[5] the notice's JSON
-- Returns 1 when filed, 0 when an entry with this id is already there.
local bx = box(1, ARGV[1])
local id = ARGV[2]
local r = redis.call('HMGET', bx.e, id, 'n', 'b', 'c', 's', 'm', 'i')
if r[1] then
  return 0
end
insert(bx, id, 'n', tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], r, true)
return 1
