import { COMMON } from './scripts.js';

/*
 * The scripts of the relay's per-turn batches: every send, and every ack, of one event-loop turn
 * in one script call (relay/mailbox/redis.ts), grouped inside by mailbox so that a mailbox's
 * operations share one run of its commands. COMMON (relay/mailbox/scripts.ts) holds the helpers
 * and the value layout.
 */

/**
 * by_user: a batch's items grouped by user (`count` items of `stride` arguments from
 * ARGV[first], the user ID first in each): the users in the order first met, and each one's ARGV
 * offsets. read_group: the one HMGET a group's items and the mailbox counters need.
 */
const BATCH_HELPERS = `
local function by_user(first, count, stride)
  local order, groups = {}, {}
  for i = 0, count - 1 do
    local a = first + i * stride
    local uid = ARGV[a]
    local g = groups[uid]
    if not g then
      g = {}
      groups[uid] = g
      order[#order + 1] = uid
    end
    g[#g + 1] = a
  end
  return order, groups
end
-- One HMGET of mailbox hash e: the entry id of each item of a group (ARGV right after the
-- user), then the counter fields named.
local function read_group(e, ops, ...)
  local fields = {}
  for j = 1, #ops do
    fields[j] = ARGV[ops[j] + 1]
  end
  for _, f in ipairs({...}) do
    fields[#fields + 1] = f
  end
  return redis.call('HMGET', e, unpack(fields))
end
`;

/**
 * Stores a batch of sends (one script call per event-loop turn of the relay, so Redis and the
 * client library pay their per-call cost once for many messages).
 * ARGV: prefix, max messages, max bytes, count, then per send: to, entry id, now, ttlMs,
 * receipt ('1'|'0'), bell ('1'|'0'), body, share mid ('' unless the send is a held part), hold
 * (ms a held part waits for its share frame; renewed by each part).
 * Returns 5 values per send, joined by commas into one string (one reply element to read, not
 * five per send): 'stored', seq, prev, ts, exp | 'dup', seq, ts, exp, '' |
 * 'unknown', '', '', '', '' | 'quota', 'messages'|'bytes', '', '', ''.
 */
export const SEND_SCRIPT = `${COMMON}${BATCH_HELPERS}
local max_n, max_b = tonumber(ARGV[2]), tonumber(ARGV[3])
-- Arguments per send, from \`to\` to \`hold\`.
local SEND_STRIDE = 9
-- A part of share oid: held in its group, not delivered, no doorbell.
local function hold_one(to, id, oid, now, ttl, hold, receipt, body)
  local from, mid = string.match(id, '^m:([^:]+):(.+)$')
  local g = group_key(to, from, oid)
  local existing = redis.call('HGET', g, mid)
  if existing then
    local _, ts, exp = held_header(existing)
    return 'dup', '0', ts, exp, ''
  end
  local r = redis.call('HMGET', key(to, 'e'), 'n', 'b', 'c', 'm')
  if not r[3] and redis.call('EXISTS', key(to, 'pk')) == 0 then
    return 'unknown', '', '', '', ''
  end
  local n, b, c = tonumber(r[1]) or 0, tonumber(r[2]) or 0, tonumber(r[3]) or 0
  if n >= max_n then
    return 'quota', 'messages', '', '', ''
  end
  if b + #body > max_b then
    return 'quota', 'bytes', '', '', ''
  end
  local hid = 'h:' .. from .. ':' .. oid
  local x = key(to, 'x')
  local gexp = redis.call('ZSCORE', x, hid)
  local exp = now + ttl
  if gexp then
    exp = math.min(exp, tonumber(gexp))
  else
    redis.call('ZADD', x, fmt(exp), hid)
    c = c + 1
  end
  local soonest = exp
  -- Until the share frame files the offer, the parts go at the deadline each part renews.
  if redis.call('HEXISTS', key(to, 'e'), 'm:' .. from .. ':' .. oid) == 0 then
    soonest = math.min(tonumber(gexp) or exp, now + hold)
    redis.call('ZADD', x, fmt(soonest), 'd:' .. from .. ':' .. oid)
  end
  redis.call('ZADD', EXPIRY, 'LT', fmt(math.min(exp, soonest)), to)
  local order = redis.call('HLEN', g) + 1
  redis.call('HSET', g, mid, receipt .. order .. ':' .. fmt(now) .. ':' .. fmt(exp) .. ':' .. body)
  redis.call('HSET', key(to, 'e'), 'n', fmt(n + 1), 'b', fmt(b + #body), 'c', fmt(c), 'm', fmt(stored_m(r[4], r[3])))
  return 'stored', '0', '0', fmt(now), fmt(exp)
end
local function send_one(to, id, now, ttl, receipt, bell, body)
  local r = redis.call('HMGET', key(to, 'e'), id, 'n', 'b', 'c', 's', 'm')
  if r[1] then
    local _, seq, ts, exp = parse(r[1])
    return 'dup', seq, ts, exp, ''
  end
  -- Entries are only ever filed for registered users, so a non-empty mailbox needs no check.
  if not r[4] and redis.call('EXISTS', key(to, 'pk')) == 0 then
    return 'unknown', '', '', '', ''
  end
  if (tonumber(r[2]) or 0) >= max_n then
    return 'quota', 'messages', '', '', ''
  end
  if (tonumber(r[3]) or 0) + #body > max_b then
    return 'quota', 'bytes', '', '', ''
  end
  local exp = now + ttl
  local seq, prev = insert(to, id, receipt, now, exp, body, r, bell == '1')
  return 'stored', seq, prev, fmt(now), fmt(exp)
end
-- A recipient's plain sends of this batch, in order: one HMGET (dedupe, quota, high-water seq)
-- and one write per structure, however many sends the batch holds for that mailbox.
local function send_group(to, ops, out)
  local e = key(to, 'e')
  local count = #ops
  local r = read_group(e, ops, 'n', 'b', 'c', 's', 'm')
  local n = tonumber(r[count + 1]) or 0
  local b = tonumber(r[count + 2]) or 0
  local c = tonumber(r[count + 3]) or 0
  local s = tonumber(r[count + 4]) or 0
  local m = stored_m(r[count + 5], r[count + 3])
  -- Entries are only ever filed for registered users, so a non-empty mailbox needs no check.
  local known = r[count + 3] and true or nil
  local filed = {}
  local zq, zx, hs = {}, {}, {}
  local min_exp, bell = nil, nil
  for j = 1, count do
    local a = ops[j]
    local id, body = ARGV[a + 1], ARGV[a + 6]
    local o = (a - 5) / SEND_STRIDE * 5
    local prior = filed[id]
    if r[j] then
      local _, seq, ts, exp = parse(r[j])
      prior = { seq, ts, exp }
    end
    if prior then
      out[o + 1], out[o + 2], out[o + 3], out[o + 4], out[o + 5] = 'dup', prior[1], prior[2], prior[3], ''
    else
      if known == nil then
        known = redis.call('EXISTS', key(to, 'pk')) == 1
      end
      if not known then
        out[o + 1], out[o + 2], out[o + 3], out[o + 4], out[o + 5] = 'unknown', '', '', '', ''
      elseif n >= max_n then
        out[o + 1], out[o + 2], out[o + 3], out[o + 4], out[o + 5] = 'quota', 'messages', '', '', ''
      elseif b + #body > max_b then
        out[o + 1], out[o + 2], out[o + 3], out[o + 4], out[o + 5] = 'quota', 'bytes', '', '', ''
      else
        -- now arrives as the relay's decimal string: kept as is, not printed again.
        local sn = ARGV[a + 2]
        local exp = tonumber(sn) + tonumber(ARGV[a + 3])
        local prev = fmt(s)
        s = math.max(clock(), s + 1)
        n, b, c = n + 1, b + #body, c + 1
        local ss, se = fmt(s), fmt(exp)
        zq[#zq + 1] = ss
        zq[#zq + 1] = id
        local indexed
        m, indexed = order_exp(exp, m)
        if indexed then
          zx[#zx + 1] = se
          zx[#zx + 1] = id
        end
        hs[#hs + 1] = id
        hs[#hs + 1] = ARGV[a + 4] .. ss .. ':' .. sn .. ':' .. se .. ':' .. body
        if not min_exp or exp < min_exp then
          min_exp = exp
        end
        if ARGV[a + 5] == '1' then
          bell = ss
        end
        filed[id] = { ss, sn, se }
        out[o + 1], out[o + 2], out[o + 3], out[o + 4], out[o + 5] = 'stored', ss, prev, sn, se
      end
    end
  end
  if #hs == 0 then
    return
  end
  redis.call('ZADD', key(to, 'q'), unpack(zq))
  if #zx > 0 then
    redis.call('ZADD', key(to, 'x'), unpack(zx))
  end
  hs[#hs + 1] = 'n'
  hs[#hs + 1] = fmt(n)
  hs[#hs + 1] = 'b'
  hs[#hs + 1] = fmt(b)
  hs[#hs + 1] = 'c'
  hs[#hs + 1] = fmt(c)
  hs[#hs + 1] = 's'
  hs[#hs + 1] = fmt(s)
  hs[#hs + 1] = 'm'
  hs[#hs + 1] = fmt(m)
  redis.call('HSET', e, unpack(hs))
  redis.call('ZADD', EXPIRY, 'LT', fmt(min_exp), to)
  -- One doorbell with the highest seq: a connection pulls everything after its cursor anyway.
  if bell then
    redis.call('PUBLISH', key(to, 'bell'), 'b' .. bell)
  end
end
-- Sends grouped by recipient (mailboxes are independent; each keeps its sends in batch order).
-- A recipient with a held part among its sends takes them one at a time: holding reads and
-- writes the same counters.
local order, groups = by_user(5, tonumber(ARGV[4]), SEND_STRIDE)
local held = {}
for _, to in ipairs(order) do
  for _, a in ipairs(groups[to]) do
    if ARGV[a + 7] ~= '' then
      held[to] = true
    end
  end
end
local out = {}
for _, to in ipairs(order) do
  local ops = groups[to]
  if held[to] then
    for _, a in ipairs(ops) do
      local o = (a - 5) / SEND_STRIDE * 5
      if ARGV[a + 7] ~= '' then
        out[o + 1], out[o + 2], out[o + 3], out[o + 4], out[o + 5] = hold_one(to, ARGV[a + 1], ARGV[a + 7],
          tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), tonumber(ARGV[a + 8]), ARGV[a + 4], ARGV[a + 6])
      else
        out[o + 1], out[o + 2], out[o + 3], out[o + 4], out[o + 5] = send_one(to, ARGV[a + 1],
          tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), ARGV[a + 4], ARGV[a + 5], ARGV[a + 6])
      end
    end
  else
    send_group(to, ops, out)
  end
end
return table.concat(out, ',')
`;

/**
 * Acknowledges a batch of entries (one script call per event-loop turn).
 * ARGV: prefix, receiptTtlMs, count, then per ack: uid, entry id, now.
 * Returns one character per ack, as one string: 1 when the entry was deleted, 0 when it was
 * already gone.
 *
 * Acks are grouped by mailbox: one HMGET and one write per structure for all of a mailbox's acks
 * in the batch. Receipts are filed after every ack of the batch, so an ack never meets a receipt
 * filed by the same batch (no client has seen one yet).
 */
export const ACK_SCRIPT = `${COMMON}${BATCH_HELPERS}
local ttl = tonumber(ARGV[2])
local out = {}
local receipts = {}
-- One at a time, for a mailbox with an offer among its acks (declining touches the held group
-- and the same counters).
local function ack_one(a)
  local uid, id, now = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
  local flag = remove(uid, id)
  if flag == '1' or flag == 'A' then
    receipts[#receipts + 1] = a
  elseif flag == 'o' or flag == 'O' then
    -- Acknowledging an offer without answering it declines it.
    local from, oid = string.match(id, '^m:([^:]+):(.+)$')
    drop_group(uid, from, oid)
    receipts[#receipts + 1] = -a
  end
  out[(a - 4) / 3 + 1] = flag and 1 or 0
end
local function ack_group(uid, ops)
  local e = key(uid, 'e')
  local count = #ops
  local r = read_group(e, ops, 'n', 'b', 'c')
  for j = 1, count do
    local flag = r[j] and string.sub(r[j], 1, 1)
    if flag == 'o' or flag == 'O' then
      for _, a in ipairs(ops) do
        ack_one(a)
      end
      return
    end
  end
  local n, b, c = tonumber(r[count + 1]), tonumber(r[count + 2]), tonumber(r[count + 3])
  local gone, ids = {}, {}
  for j = 1, count do
    local a, v = ops[j], r[j]
    local id = ARGV[a + 1]
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
        receipts[#receipts + 1] = a
      end
      out[(a - 4) / 3 + 1] = 1
    else
      out[(a - 4) / 3 + 1] = 0
    end
  end
  if #ids == 0 then
    return
  end
  if c <= 0 then
    redis.call('DEL', e, key(uid, 'q'), key(uid, 'x'))
    redis.call('ZREM', EXPIRY, uid)
    return
  end
  redis.call('ZREM', key(uid, 'q'), unpack(ids))
  redis.call('ZREM', key(uid, 'x'), unpack(ids))
  redis.call('HDEL', e, unpack(ids))
  redis.call('HSET', e, 'n', fmt(n), 'b', fmt(b), 'c', fmt(c))
end
local order, groups = by_user(4, tonumber(ARGV[3]), 3)
for _, uid in ipairs(order) do
  ack_group(uid, groups[uid])
end
-- a > 0: delivered (a message or a pre-approved offer that asked for a receipt); a < 0:
-- rejected (a declined offer).
for _, a in ipairs(receipts) do
  if a > 0 then
    file_receipt(ARGV[a], ARGV[a + 1], 'd', tonumber(ARGV[a + 2]), ttl)
  else
    file_receipt(ARGV[-a], ARGV[-a + 1], 'j', tonumber(ARGV[-a + 2]), ttl)
  end
end
return table.concat(out)
`;
