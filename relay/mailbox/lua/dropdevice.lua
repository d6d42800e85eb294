-- Drops a device's claims from a mailbox, after the registry cleared its slot from the live mask:
-- the entries every remaining live slot has acked go (an unanswered offer is then declined, as
-- when the last live device acks it), and the slot's bit is cleared from every other ack mask,
-- so a device that takes the slot later receives everything still waiting. Idempotent.
-- KEYS[1..8] BOX_KEYS of the mailbox (mailbox.lua; d is read for the live mask)
-- ARGV[1] uid
-- ARGV[2] the slot dropped
-- ARGV[3] now (ms)
-- Returns {deleted, note, note, ...}: how many entries went, and the receipts to file for their
-- senders (mailbox.lua note_receipt; receipts.lua files them).
local bx = box(1, ARGV[1])
local slot, now = tonumber(ARGV[2]), tonumber(ARGV[3])
local live = live_mask(bx)
local keep = bit.bnot(bit.lshift(1, slot))
local masks = {}
local cursor = '0'
repeat
  local page = redis.call('HSCAN', bx.e, cursor, 'MATCH', 'a:*', 'COUNT', 1000)
  cursor = page[1]
  for i = 1, #page[2], 2 do
    masks[#masks + 1] = { string.sub(page[2][i], 3), tonumber(page[2][i + 1]) }
  end
until cursor == '0'
local hs, done = {}, {}
for _, entry in ipairs(masks) do
  local id, mask = entry[1], entry[2]
  local cleared = bit.band(mask, keep)
  if bit.band(cleared, live) == live then
    done[#done + 1] = id
  elseif cleared ~= mask then
    hs[#hs + 1] = 'a:' .. id
    hs[#hs + 1] = fmt(cleared)
  end
end
if #hs > 0 then
  redis.call('HSET', bx.e, unpack(hs))
end
local reply = { 0 }
for _, id in ipairs(done) do
  local flag, mask = remove(bx, id)
  if flag then
    reply[1] = reply[1] + 1
    reply[#reply + 1] = acked_out(bx, id, flag, mask, now)
  end
end
return reply
