-- Expires what is due in the mailboxes of one slot that its index shard lists as due (the relay
-- reads those uids from the shard first: ZRANGEBYSCORE, then this call).
-- KEYS[1..8n] BOX_KEYS (8) per mailbox, mailbox 1 first (mailbox.lua: e, q, x, pk, h, bell, expiry, d)
-- ARGV[1] now (ms)
-- ARGV[2] budget (most entries to delete)
-- ARGV[3] number of mailboxes
-- ARGV[4..end] the uid of each mailbox, in the order of KEYS
-- Returns {expired, exhausted (1 when the budget ran out first), note, note, ...}: the notes are
-- the `expired` receipts to file for senders who asked (receipts.lua), for the entries no device
-- acked (an entry one device of several acked was delivered: its ack mask goes with it).
--
-- The shard holds each mailbox's earliest expiry, or an earlier one when that entry was acked
-- since (acks do not correct it): a visit resets it to the true earliest, or removes it. A visit
-- expires what x lists as due, then walks q from its head, expiring entries while they are due:
-- the first that is not bounds every in-order entry after it (order_exp), so its exp and x's
-- first are the mailbox's earliest. A visit that runs out of budget leaves the mailbox due now.
local now, budget = tonumber(ARGV[1]), tonumber(ARGV[2])
local expired, notes = 0, {}

-- Expires entry (or held group, or a held group's deadline) id of the mailbox.
local function expire(bx, id)
  -- The deadline of a share's held parts: they go unless the share frame came in time.
  local dfrom, doid = string.match(id, '^d:([^:]+):(.+)$')
  if dfrom then
    redis.call('ZREM', bx.x, id)
    budget = budget - 1
    if redis.call('HEXISTS', bx.e, 'm:' .. dfrom .. ':' .. doid) == 0 then
      local parts = drop_group(bx, dfrom, doid)
      expired = expired + parts
      budget = budget - parts
    end
    return
  end
  local from, oid = string.match(id, '^h:([^:]+):(.+)$')
  if from then
    local parts = drop_group(bx, from, oid)
    expired = expired + parts
    budget = budget - math.max(parts, 1)
    return
  end
  local flag, mask = remove(bx, id)
  if flag then
    expired = expired + 1
    budget = budget - 1
    if mask == 0 and (flag == '1' or flag == 'O' or flag == 'A') then
      notes[#notes + 1] = note_receipt(bx, id, 'e', now)
    end
    if flag == 'o' or flag == 'O' then
      local sender, share = string.match(id, '^m:([^:]+):(.+)$')
      expired = expired + drop_group(bx, sender, share)
    end
  end
end

-- Expires entries from q's head while they are due. Returns the exp of the first that is not,
-- nil when q is empty, or false when the budget ran out first.
local function walk(bx)
  -- Reads grow from 4 entries: usually the first is not due.
  local size = 4
  while budget > 0 do
    local ids = redis.call('ZRANGE', bx.q, 0, size - 1)
    if #ids == 0 then
      return nil
    end
    local values = redis.call('HMGET', bx.e, unpack(ids))
    for j, id in ipairs(ids) do
      local _, _, _, exp = parse(values[j])
      if tonumber(exp) > now then
        return tonumber(exp)
      end
      if budget <= 0 then
        return false
      end
      local before = budget
      expire(bx, id)
      if budget == before then
        error('sweep: entry ' .. j .. ' of a mailbox was not removed')
      end
    end
    size = math.min(size * 4, 100)
  end
  return false
end

local exhausted = 0
for i = 1, tonumber(ARGV[3]) do
  if budget <= 0 then
    exhausted = 1
    break
  end
  local bx = box(i, ARGV[3 + i])
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', bx.x, '-inf', ARGV[1], 'LIMIT', 0, budget)) do
    expire(bx, id)
  end
  local soonest = false
  if budget > 0 then
    soonest = walk(bx)
  end
  if redis.call('EXISTS', bx.e) == 0 then
    redis.call('ZREM', bx.expiry, bx.uid)
  elseif soonest == false then
    exhausted = 1
    redis.call('ZADD', bx.expiry, ARGV[1], bx.uid)
    redis.call('HSET', bx.e, 'i', ARGV[1])
  else
    local first = redis.call('ZRANGE', bx.x, 0, 0, 'WITHSCORES')
    local listed = first[2] and tonumber(first[2])
    if listed and (not soonest or listed < soonest) then
      soonest = listed
    end
    if soonest then
      redis.call('ZADD', bx.expiry, fmt(soonest), bx.uid)
      redis.call('HSET', bx.e, 'i', fmt(soonest))
    else
      redis.call('ZREM', bx.expiry, bx.uid)
      redis.call('HDEL', bx.e, 'i')
    end
  end
end
local reply = { expired, exhausted }
for _, note in ipairs(notes) do
  reply[#reply + 1] = note
end
return reply
