-- Acknowledges a batch of entries: every ack of one event-loop turn on the mailboxes of one slot
-- (all of them on a standalone server), in one call. An ack is a device's (its slot): it clears
-- that slot's claim, and deletes the entry once every live slot has acked it (mailbox.lua
-- ack_rule; a legacy user's one device, slot 0, deletes at once).
-- KEYS[1..8n] BOX_KEYS (8) per mailbox, mailbox 1 first (mailbox.lua: e, q, x, pk, h, bell, expiry, d)
-- ARGV[1] number of acks
-- ARGV[2..end] ACK_STRIDE (5) arguments per ack: +0 mailbox (its index among the KEYS groups,
--         1-based), +1 uid, +2 entry id, +3 the acking device's slot, +4 now (ms)
-- Returns {acked, note, note, ...}: acked has one character per ack, '1' when it took effect
-- (the slot's claim cleared, the entry deleted when it was the last), '0' when the entry was
-- already gone or already acked by that slot; each note is a receipt to file in its sender's
-- mailbox (mailbox.lua note_receipt: the relay's second step, receipts.lua).
--
-- A mailbox's acks share one HMGET, one HGET of the live mask and one write per structure,
-- unless an offer is among them (declining it touches the held group and the same counters):
-- then they go one at a time.
local ACK_STRIDE, FIRST = 5, 2
local acked, notes = {}, {}

local function ack_one(bx, a, live)
  local id, slot, now = ARGV[a + 2], tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  local r = redis.call('HMGET', bx.e, id, 'a:' .. id)
  local result = '0'
  if r[1] then
    local flag = string.sub(r[1], 1, 1)
    local rule = ack_rule(tonumber(r[2]) or 0, slot, live)
    if rule == 'all' then
      local _, mask = remove(bx, id)
      notes[#notes + 1] = acked_out(bx, id, flag, mask, now)
      result = '1'
    elseif rule ~= 'skip' then
      local mask, note = first_receipt(bx, id, flag, rule, now)
      notes[#notes + 1] = note
      redis.call('HSET', bx.e, 'a:' .. id, fmt(mask))
      result = '1'
    end
  end
  acked[(a - FIRST) / ACK_STRIDE + 1] = result
end

local function ack_group(bx, ops)
  local count = #ops
  local masks_of = {}
  for j, a in ipairs(ops) do
    masks_of[j] = 'a:' .. ARGV[a + 2]
  end
  local r = read_group(bx, ops, 'n', 'b', 'c', unpack(masks_of))
  local live = nil
  for j = 1, count do
    if r[j] then
      live = live_mask(bx)
      break
    end
  end
  if not live then
    for _, a in ipairs(ops) do
      acked[(a - FIRST) / ACK_STRIDE + 1] = '0'
    end
    return
  end
  for j = 1, count do
    local flag = r[j] and string.sub(r[j], 1, 1)
    if flag == 'o' or flag == 'O' then
      for _, a in ipairs(ops) do
        ack_one(bx, a, live)
      end
      return
    end
  end
  local n, b, c = tonumber(r[count + 1]), tonumber(r[count + 2]), tonumber(r[count + 3])
  -- masks: the group's masks as its acks change them; kept: those to write, in first-met order.
  local gone, ids, masks, kept = {}, {}, {}, {}
  for j, a in ipairs(ops) do
    local v, id = r[j], ARGV[a + 2]
    local result = '0'
    if v and not gone[id] then
      local flag, _, _, _, bytes = parse(v)
      local mask = masks[id] or tonumber(r[count + 3 + j]) or 0
      local rule = ack_rule(mask, tonumber(ARGV[a + 3]), live)
      local now = tonumber(ARGV[a + 4])
      if rule == 'all' then
        gone[id] = true
        ids[#ids + 1] = id
        c = c - 1
        if flag == '0' or flag == '1' then
          n = n - 1
          b = b - bytes
        end
        notes[#notes + 1] = acked_out(bx, id, flag, mask, now)
        result = '1'
      elseif rule ~= 'skip' then
        local note
        if not masks[id] then
          kept[#kept + 1] = id
        end
        masks[id], note = first_receipt(bx, id, flag, rule, now)
        notes[#notes + 1] = note
        result = '1'
      end
    end
    acked[(a - FIRST) / ACK_STRIDE + 1] = result
  end
  local hs = {}
  for _, id in ipairs(kept) do
    if not gone[id] then
      hs[#hs + 1] = 'a:' .. id
      hs[#hs + 1] = fmt(masks[id])
    end
  end
  if #ids > 0 then
    if c <= 0 then
      set_counts(bx, n, b, c)
      return
    end
    redis.call('ZREM', bx.q, unpack(ids))
    redis.call('ZREM', bx.x, unpack(ids))
    local fields = {}
    for k, id in ipairs(ids) do
      fields[k] = id
      fields[#ids + k] = 'a:' .. id
      fields[2 * #ids + k] = content(id)
    end
    redis.call('HDEL', bx.e, unpack(fields))
    redis.call('HSET', bx.e, 'n', fmt(n), 'b', fmt(b), 'c', fmt(c), unpack(hs))
  elseif #hs > 0 then
    redis.call('HSET', bx.e, unpack(hs))
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
