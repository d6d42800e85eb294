-- Acknowledges a batch of entries: every ack of one event-loop turn on the mailboxes of one slot
-- (all of them on a standalone server), in one call.
-- KEYS[1..7n] BOX_KEYS (7) per mailbox, mailbox 1 first (mailbox.lua: e, q, x, pk, h, bell, expiry)
-- ARGV[1] number of acks
-- ARGV[2..end] ACK_STRIDE (4) arguments per ack: +0 mailbox (its index among the KEYS groups,
--         1-based), +1 uid, +2 entry id, +3 now (ms)
-- Returns {acked, note, note, ...}: acked has one character per ack, '1' when the entry was
-- deleted, '0' when it was already gone; each note is a receipt to file in its sender's mailbox
-- (mailbox.lua note_receipt: the relay's second step, receipts.lua).
--
-- A mailbox's acks share one HMGET and one write per structure, unless an offer is among them
-- (declining it touches the held group and the same counters): then they go one at a time.
local ACK_STRIDE, FIRST = 4, 2
local acked, notes = {}, {}

local function ack_one(bx, a)
  local id, now = ARGV[a + 2], tonumber(ARGV[a + 3])
  local flag = remove(bx, id)
  if flag == '1' or flag == 'A' then
    notes[#notes + 1] = note_receipt(bx, id, 'd', now)
  elseif flag == 'o' or flag == 'O' then
    -- Acknowledging an offer without answering it declines it.
    local from, oid = string.match(id, '^m:([^:]+):(.+)$')
    drop_group(bx, from, oid)
    notes[#notes + 1] = note_receipt(bx, id, 'j', now)
  end
  acked[(a - FIRST) / ACK_STRIDE + 1] = flag and '1' or '0'
end

local function ack_group(bx, ops)
  local count = #ops
  local r = read_group(bx, ops, 'n', 'b', 'c')
  for j = 1, count do
    local flag = r[j] and string.sub(r[j], 1, 1)
    if flag == 'o' or flag == 'O' then
      for _, a in ipairs(ops) do
        ack_one(bx, a)
      end
      return
    end
  end
  local n, b, c = tonumber(r[count + 1]), tonumber(r[count + 2]), tonumber(r[count + 3])
  local gone, ids = {}, {}
  for j, a in ipairs(ops) do
    local v, id = r[j], ARGV[a + 2]
    if v and not gone[id] then
      gone[id] = true
      ids[#ids + 1] = id
      local flag, _, _, _, hlen = parse(v)
      c = c - 1
      if flag == '0' or flag == '1' then
        n = n - 1
        b = b - (#v - hlen)
      end
      if flag == '1' or flag == 'A' then
        notes[#notes + 1] = note_receipt(bx, id, 'd', tonumber(ARGV[a + 3]))
      end
      acked[(a - FIRST) / ACK_STRIDE + 1] = '1'
    else
      acked[(a - FIRST) / ACK_STRIDE + 1] = '0'
    end
  end
  if #ids > 0 and set_counts(bx, n, b, c) then
    redis.call('ZREM', bx.q, unpack(ids))
    redis.call('ZREM', bx.x, unpack(ids))
    redis.call('HDEL', bx.e, unpack(ids))
  end
end

local order, groups = by_box(FIRST, tonumber(ARGV[1]), ACK_STRIDE)
for _, g in ipairs(order) do
  ack_group(box(g, ARGV[groups[g][1] + 1]), groups[g])
end
local reply = { table.concat(acked) }
for _, note in ipairs(notes) do
  reply[#reply + 1] = note
end
return reply
