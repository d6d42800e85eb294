/*
 * The Lua scripts of the Redis store (relay/store-redis.ts documents the key layout).
 * Each exported script is COMMON followed by its own body; ioredis runs them with EVALSHA and
 * falls back to EVAL when the server has lost its script cache (after a restart).
 *
 * Every script takes the key prefix as ARGV[1] and builds keys itself, because a send, an ack or
 * a sweep may touch several users' mailboxes and the global expiry index: fine on one Redis, not
 * on a Cluster (see store-redis.ts).
 *
 * Numbers: seq values reach ~1.8e15. They are exact in Lua's doubles, but tostring() would print
 * them as 1.8e+15, so every number that leaves a script or enters a stored value goes through
 * fmt(). Scripts return numbers as strings.
 */

const COMMON = `
local prefix = ARGV[1]
local EXPIRY = prefix .. 'expiry'

local function key(uid, suffix)
  return prefix .. '{' .. uid .. '}:' .. suffix
end

local function fmt(n)
  return string.format('%.0f', n)
end

-- The store's clock in microseconds (Redis TIME), read once per script call.
local clock_us = nil
local function clock()
  if not clock_us then
    local t = redis.call('TIME')
    clock_us = tonumber(t[1]) * 1000000 + tonumber(t[2])
  end
  return clock_us
end

-- A stored value: <flag><seq>:<ts>:<exp>:<body>. flag is '0' or '1' for a message (receipt
-- asked), 'd' or 'e' for a receipt (delivered, expired; ts is then the receipt's "at"), 'n' for
-- a notice (body: its JSON).
local function parse(v)
  local flag, seq, ts, exp = string.match(v, '^(.)(%d+):(%d+):(%d+):')
  return flag, seq, ts, exp, #seq + #ts + #exp + 4
end

-- Appends an entry whose id is not in the mailbox yet; r is HMGET of (id, n, b, c, s).
local function insert(uid, id, flag, now, exp, body, r, bell)
  local n = tonumber(r[2]) or 0
  local b = tonumber(r[3]) or 0
  local c = (tonumber(r[4]) or 0) + 1
  local prev = tonumber(r[5]) or 0
  local seq = math.max(clock(), prev + 1)
  if flag == '0' or flag == '1' then
    n = n + 1
    b = b + #body
  end
  local s = fmt(seq)
  redis.call('ZADD', key(uid, 'q'), s, id)
  redis.call('ZADD', key(uid, 'x'), fmt(exp), id)
  redis.call('HSET', key(uid, 'e'), id, flag .. s .. ':' .. fmt(now) .. ':' .. fmt(exp) .. ':' .. body,
    'n', n, 'b', b, 'c', c, 's', s)
  redis.call('ZADD', EXPIRY, 'LT', fmt(exp), uid)
  if bell then
    redis.call('PUBLISH', key(uid, 'bell'), 'b' .. s)
  end
  return s, fmt(prev)
end

-- Deletes an entry and its index entries; the whole mailbox when it was the last one.
-- Returns the stored value's flag, or nil when the entry was not there.
local function remove(uid, id)
  local e = key(uid, 'e')
  local r = redis.call('HMGET', e, id, 'n', 'b', 'c')
  local v = r[1]
  if not v then
    return nil
  end
  local flag, _, _, _, hlen = parse(v)
  local c = tonumber(r[4]) - 1
  if c <= 0 then
    redis.call('DEL', e, key(uid, 'q'), key(uid, 'x'))
    redis.call('ZREM', EXPIRY, uid)
    return flag
  end
  local q = key(uid, 'q')
  redis.call('ZREM', q, id)
  redis.call('ZREM', key(uid, 'x'), id)
  redis.call('HDEL', e, id)
  local n = tonumber(r[2])
  local b = tonumber(r[3])
  if flag == '0' or flag == '1' then
    n = n - 1
    b = b - (#v - hlen)
  end
  redis.call('HSET', e, 'n', n, 'b', b, 'c', c)
  return flag
end

-- Files a receipt for message id m:<from>:<mid>, acknowledged or expired in uid's mailbox, in the
-- sender's mailbox (once: a receipt already waiting there is kept). Returns 1 when filed.
local function file_receipt(uid, id, status, now, ttl)
  local from, mid = string.match(id, '^m:([^:]+):(.+)$')
  local rid = 'r:' .. uid .. ':' .. mid
  local r = redis.call('HMGET', key(from, 'e'), rid, 'n', 'b', 'c', 's')
  if r[1] then
    return 0
  end
  insert(from, rid, status, now, now + ttl, '', r, true)
  return 1
end
`;

/**
 * Stores a batch of sends (one script call per event-loop turn of the relay, so Redis and the
 * client library pay their per-call cost once for many messages).
 * ARGV: prefix, max messages, max bytes, count, then per send: to, entry id, now, ttlMs,
 * receipt ('1'|'0'), bell ('1'|'0'), body.
 * Returns 5 values per send: 'stored', seq, prev, ts, exp | 'dup', seq, ts, exp, '' |
 * 'unknown', '', '', '', '' | 'quota', 'messages'|'bytes', '', '', ''.
 */
export const SEND_SCRIPT = `${COMMON}
local max_n, max_b = tonumber(ARGV[2]), tonumber(ARGV[3])
local function send_one(to, id, now, ttl, receipt, bell, body)
  local r = redis.call('HMGET', key(to, 'e'), id, 'n', 'b', 'c', 's')
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
local out = {}
for i = 0, tonumber(ARGV[4]) - 1 do
  local a = 5 + i * 7
  local s1, s2, s3, s4, s5 = send_one(ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]),
    ARGV[a + 4], ARGV[a + 5], ARGV[a + 6])
  out[#out + 1] = s1
  out[#out + 1] = s2
  out[#out + 1] = s3
  out[#out + 1] = s4
  out[#out + 1] = s5
end
return out
`;

/**
 * ARGV: prefix, uid, afterSeq, limit, now.
 * Returns {last, more ('1'|'0'), id1, value1, id2, value2, ...} with the live entries among the
 * first `limit` after afterSeq; values as stored (see parse), bodies included.
 */
export const FETCH_SCRIPT = `${COMMON}
local uid, after = ARGV[2], ARGV[3]
local limit, now = tonumber(ARGV[4]), tonumber(ARGV[5])
local ids = redis.call('ZRANGEBYSCORE', key(uid, 'q'), '(' .. after, '+inf', 'LIMIT', 0, limit + 1)
local count = math.min(#ids, limit)
local out = {after, #ids > limit and '1' or '0'}
if count == 0 then
  return out
end
local values = redis.call('HMGET', key(uid, 'e'), unpack(ids, 1, count))
for i = 1, count do
  local v = values[i]
  local _, seq, _, exp = parse(v)
  out[1] = seq
  if tonumber(exp) > now then
    out[#out + 1] = ids[i]
    out[#out + 1] = v
  end
end
return out
`;

/** ARGV: prefix, uid, entry id, now, exp, notice JSON. Returns 1 when filed, 0 when already there. */
export const NOTIFY_SCRIPT = `${COMMON}
local uid, id = ARGV[2], ARGV[3]
local r = redis.call('HMGET', key(uid, 'e'), id, 'n', 'b', 'c', 's')
if r[1] then
  return 0
end
insert(uid, id, 'n', tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6], r, true)
return 1
`;

/**
 * Acknowledges a batch of entries (one script call per event-loop turn).
 * ARGV: prefix, receiptTtlMs, count, then per ack: uid, entry id, now.
 * Returns one value per ack: 1 when the entry was deleted, 0 when it was already gone.
 */
export const ACK_SCRIPT = `${COMMON}
local ttl = tonumber(ARGV[2])
local out = {}
for i = 0, tonumber(ARGV[3]) - 1 do
  local uid, id, now = ARGV[4 + i * 3], ARGV[5 + i * 3], tonumber(ARGV[6 + i * 3])
  local flag = remove(uid, id)
  if flag == '1' then
    file_receipt(uid, id, 'd', now, ttl)
  end
  out[#out + 1] = flag and 1 or 0
end
return out
`;

/**
 * ARGV: prefix, now, limit, receiptTtlMs. Returns {expired, receipts, more (1|0)}.
 * The index holds each mailbox's earliest expiry, or an earlier one when that entry was acked
 * since (acks do not correct it): a visit resets it to the true earliest, or removes it.
 */
export const SWEEP_SCRIPT = `${COMMON}
local now, budget, ttl = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local expired, receipts = 0, 0
local uids = redis.call('ZRANGEBYSCORE', EXPIRY, '-inf', ARGV[2], 'LIMIT', 0, budget)
for _, uid in ipairs(uids) do
  if budget <= 0 then
    break
  end
  local x = key(uid, 'x')
  local ids = redis.call('ZRANGEBYSCORE', x, '-inf', ARGV[2], 'LIMIT', 0, budget)
  for _, id in ipairs(ids) do
    local flag = remove(uid, id)
    if flag then
      expired = expired + 1
      budget = budget - 1
      if flag == '1' then
        receipts = receipts + file_receipt(uid, id, 'e', now, ttl)
      end
    end
  end
  local first = redis.call('ZRANGE', x, 0, 0, 'WITHSCORES')
  if first[2] then
    redis.call('ZADD', EXPIRY, first[2], uid)
  else
    redis.call('ZREM', EXPIRY, uid)
  end
end
local left = redis.call('ZRANGEBYSCORE', EXPIRY, '-inf', ARGV[2], 'LIMIT', 0, 1)
return {expired, receipts, #left > 0 and 1 or 0}
`;
