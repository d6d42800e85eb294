-- The second step of a receipt: files receipts noted by ack.lua, answer.lua or sweep.lua (in the
-- recipient's slot) in the mailboxes of their senders, which share one slot here (any on a
-- standalone server). Idempotent: a receipt already in the sender's mailbox is kept as it is, so
-- filing a note twice (the relay, then a sweep after a crash) files it once. The relay removes
-- the notes from their index shard after this call.
-- KEYS[1..8n] BOX_KEYS (8) per sender mailbox, mailbox 1 first (mailbox.lua: e, q, x, pk, h, bell, expiry, d)
-- ARGV[1] how long a receipt waits for its sender, ms
-- ARGV[2] number of receipts
-- ARGV[3..end] RECEIPT_STRIDE (4) arguments per receipt: +0 mailbox (index
--         among the KEYS groups, 1-based), +1 sender uid, +2 receipt id r:<recipient>:<mid>,
--         +3 <flag><at> (flag 'd' delivered, 'j' rejected, 'e' expired; at in ms)
-- Returns how many receipts were filed (the others were already there).
local ttl, filed = tonumber(ARGV[1]), 0
local RECEIPT_STRIDE = 4
for i = 0, tonumber(ARGV[2]) - 1 do
  local a = 3 + i * RECEIPT_STRIDE
  local bx = box(tonumber(ARGV[a]), ARGV[a + 1])
  local rid, status = ARGV[a + 2], ARGV[a + 3]
  local flag, at = string.sub(status, 1, 1), tonumber(string.sub(status, 2))
  local r = redis.call('HMGET', bx.e, rid, 'n', 'b', 'c', 's', 'm', 'i')
  -- A sender that has gone (no key left) gets no receipt.
  if not r[1] and (r[4] or redis.call('EXISTS', bx.pk) == 1) then
    insert(bx, rid, flag, at, at + ttl, '', r, true)
    filed = filed + 1
  end
end
return filed
