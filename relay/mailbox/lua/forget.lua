-- Erase, in one mailbox of someone else: removes the entries and held share groups that name
-- erased users, each through the mailbox's own rules (counters, q, x, ack masks, the held
-- group of an offer, the empty mailbox dropped with its expiry index member). No receipt is
-- filed: the senders named are the users being erased. Idempotent.
-- KEYS[1..8] BOX_KEYS of the mailbox (mailbox.lua)
-- ARGV[1] uid (the mailbox's owner)
-- ARGV[2] number of entry ids that follow
-- ARGV[3..end] entry ids (m:, r:, n:, c:<uid>:...), then held groups as <from>:<share mid>
-- Returns how many entries and groups were removed.
local bx = box(1, ARGV[1])
local count = tonumber(ARGV[2])
local removed = 0
for i = 3, 2 + count do
  local id = ARGV[i]
  local flag = remove(bx, id)
  if flag then
    removed = removed + 1
    if flag == 'o' or flag == 'O' then
      local from, oid = string.match(id, '^m:([^:]+):(.+)$')
      drop_group(bx, from, oid)
    end
  end
end
for i = 3 + count, #ARGV do
  local from, oid = string.match(ARGV[i], '^([^:]+):(.+)$')
  if redis.call('HEXISTS', bx.h, 'g:' .. ARGV[i]) == 1 then
    removed = removed + 1
  end
  drop_group(bx, from, oid)
end
return removed
