/*
 * The Lua scripts of the Redis store (relay/mailbox/redis.ts documents the key layout).
 * Each exported script is COMMON followed by its own body; ioredis runs them with EVALSHA and
 * falls back to EVAL when the server has lost its script cache (after a restart).
 *
 * Every script takes the key prefix as ARGV[1] and builds keys itself, because a send, an ack or
 * a sweep may touch several users' mailboxes and the global expiry index: fine on one Redis, not
 * on a Cluster (see store-redis.ts).
 *
 * Numbers: seq values reach ~1.8e15. They are exact in Lua's doubles, but tostring() would print
 * them as 1.8e+15, so every number that leaves a script, enters a stored value or is passed to
 * redis.call goes through fmt(). Scripts return numbers as strings. fmt() is '%d' (Lua 5.1 casts
 * to a C long, exact up to 2^53 here), not '%.0f': the float path of printf was a sixth of Redis's
 * CPU on the message path (bench/RESULTS.md); a Lua number handed to redis.call is printed with
 * '%.17g', the same cost again.
 */

/** The helpers every script starts with (relay/mailbox/batch-scripts.ts uses them too). */
export const COMMON = `
local prefix = ARGV[1]
local EXPIRY = prefix .. 'expiry'

local function key(uid, suffix)
  return prefix .. '{' .. uid .. '}:' .. suffix
end

local function fmt(n)
  return string.format('%d', n)
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
-- asked), 'd', 'e' or 'j' for a receipt (delivered, expired, rejected; ts is then the receipt's
-- "at"), 'n' for a notice (body: its JSON), 'o' or 'O' for an offer waiting for an answer
-- (receipt asked) and 'a' or 'A' for an offer accepted by pre-approval (receipt asked; body:
-- <parts>:<preview>). An offer that asked for a receipt files 'd' once accepted: by an answer,
-- or, pre-approved, by its ack.
--
-- The held parts of a share live in their own hash, key(uid, 'h:<from>:<oid>'): part mid ->
-- <flag><arrival>:<ts>:<exp>:<body> (flag '0'/'1'). The group counts as one entry of the mailbox (c), its
-- parts as messages (n, b), and it has its own expiry entry 'h:<from>:<oid>' in x, set by its
-- first part and never extended: a part expires no later than the group. Until its share frame
-- files the offer, the group also has a deadline 'd:<from>:<oid>' in x (now + the hold time,
-- renewed by every part): a share left unfinished frees the recipient's quota that soon.
local function parse(v)
  local flag, seq, ts, exp = string.match(v, '^(.)(%d+):(%d+):(%d+):')
  return flag, seq, ts, exp, #seq + #ts + #exp + 4
end

-- Expiry index. An entry is in order when its exp is no earlier than that of every in-order
-- entry filed before it since the mailbox was last empty (the mailbox's field m holds the latest
-- such exp). Read in q's order, the in-order entries expire in order, so they need no index of
-- their own: the sweep walks them from q's head. Only the others (a shorter ttl after a longer
-- one) and the held groups have an entry in x. Returns the mailbox's new m and whether exp
-- belongs in x.
local function order_exp(exp, m)
  if exp >= m then
    return exp, false
  end
  return m, true
end

-- The mailbox's m from its field and its entry count c (before this write). A mailbox that has
-- entries but no m was filled before m existed, with every entry in x: it files every new entry
-- there too, until it is empty.
local function stored_m(m, c)
  if m then
    return tonumber(m)
  end
  if (tonumber(c) or 0) > 0 then
    return 2 ^ 53
  end
  return 0
end

-- Appends an entry whose id is not in the mailbox yet; r is HMGET of (id, n, b, c, s, m).
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
  local m, indexed = order_exp(exp, stored_m(r[6], r[4]))
  redis.call('ZADD', key(uid, 'q'), s, id)
  if indexed then
    redis.call('ZADD', key(uid, 'x'), fmt(exp), id)
  end
  redis.call('HSET', key(uid, 'e'), id, flag .. s .. ':' .. fmt(now) .. ':' .. fmt(exp) .. ':' .. body,
    'n', fmt(n), 'b', fmt(b), 'c', fmt(c), 's', s, 'm', fmt(m))
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
  redis.call('HSET', e, 'n', fmt(n), 'b', fmt(b), 'c', fmt(c))
  return flag
end

local function group_key(uid, from, oid)
  return key(uid, 'h:' .. from .. ':' .. oid)
end

-- A held part's value: <flag><arrival>:<ts>:<exp>:<body>; arrival orders the parts on release.
local function held_header(v)
  local flag, order, ts, exp = string.match(v, '^(.)(%d+):(%d+):(%d+):')
  return flag, ts, exp, #order + #ts + #exp + 4, tonumber(order)
end

-- Writes the mailbox counters, or deletes the mailbox when it holds no entry any more.
local function set_counts(uid, n, b, c)
  if c <= 0 then
    redis.call('DEL', key(uid, 'e'), key(uid, 'q'), key(uid, 'x'))
    redis.call('ZREM', EXPIRY, uid)
  else
    redis.call('HSET', key(uid, 'e'), 'n', fmt(n), 'b', fmt(b), 'c', fmt(c))
  end
end

-- Deletes a held group and its parts. Returns how many parts it held.
local function drop_group(uid, from, oid)
  local g = group_key(uid, from, oid)
  local hid = 'h:' .. from .. ':' .. oid
  local parts = redis.call('HVALS', g)
  redis.call('ZREM', key(uid, 'x'), 'd:' .. from .. ':' .. oid)
  if #parts == 0 then
    redis.call('ZREM', key(uid, 'x'), hid)
    return 0
  end
  local bytes = 0
  for _, v in ipairs(parts) do
    local _, _, _, hlen = held_header(v)
    bytes = bytes + #v - hlen
  end
  redis.call('DEL', g)
  redis.call('ZREM', key(uid, 'x'), hid)
  local r = redis.call('HMGET', key(uid, 'e'), 'n', 'b', 'c')
  set_counts(uid, tonumber(r[1]) - #parts, tonumber(r[2]) - bytes, tonumber(r[3]) - 1)
  return #parts
end

-- Moves a held group's parts into the mailbox as messages, in the order they arrived, and rings
-- the doorbell.
local function release(uid, from, oid)
  local g = group_key(uid, from, oid)
  local flat = redis.call('HGETALL', g)
  if #flat == 0 then
    return
  end
  local e, q, x = key(uid, 'e'), key(uid, 'q'), key(uid, 'x')
  local r = redis.call('HMGET', e, 'c', 's', 'm')
  local c = tonumber(r[1]) - 1
  local s = tonumber(r[2]) or 0
  local m = stored_m(r[3], r[1])
  local parts = {}
  for i = 1, #flat, 2 do
    local _, _, _, _, order = held_header(flat[i + 1])
    parts[#parts + 1] = { order, flat[i], flat[i + 1] }
  end
  table.sort(parts, function(a, b) return a[1] < b[1] end)
  for _, part in ipairs(parts) do
    local mid, v = part[2], part[3]
    local flag, ts, exp, hlen = held_header(v)
    local id = 'm:' .. from .. ':' .. mid
    s = math.max(clock(), s + 1)
    redis.call('ZADD', q, fmt(s), id)
    local indexed
    m, indexed = order_exp(tonumber(exp), m)
    if indexed then
      redis.call('ZADD', x, exp, id)
    end
    redis.call('HSET', e, id, flag .. fmt(s) .. ':' .. ts .. ':' .. exp .. ':' .. string.sub(v, hlen + 1))
    c = c + 1
  end
  redis.call('DEL', g)
  redis.call('ZREM', x, 'h:' .. from .. ':' .. oid, 'd:' .. from .. ':' .. oid)
  redis.call('HSET', e, 'c', fmt(c), 's', fmt(s), 'm', fmt(m))
  redis.call('PUBLISH', key(uid, 'bell'), 'b' .. fmt(s))
end

-- Files a receipt for message id m:<from>:<mid>, acknowledged or expired in uid's mailbox, in the
-- sender's mailbox (once: a receipt already waiting there is kept). Returns 1 when filed.
local function file_receipt(uid, id, status, now, ttl)
  local from, mid = string.match(id, '^m:([^:]+):(.+)$')
  local rid = 'r:' .. uid .. ':' .. mid
  local r = redis.call('HMGET', key(from, 'e'), rid, 'n', 'b', 'c', 's', 'm')
  if r[1] then
    return 0
  end
  insert(from, rid, status, now, now + ttl, '', r, true)
  return 1
end
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
local r = redis.call('HMGET', key(uid, 'e'), id, 'n', 'b', 'c', 's', 'm')
if r[1] then
  return 0
end
insert(uid, id, 'n', tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6], r, true)
return 1
`;

/**
 * ARGV: prefix, now, limit, receiptTtlMs. Returns {expired, receipts, more (1|0)}.
 * The index holds each mailbox's earliest expiry, or an earlier one when that entry was acked
 * since (acks do not correct it): a visit resets it to the true earliest, or removes it.
 *
 * A visit expires what x lists as due, then walks q from its head, expiring entries while they
 * are due: the first that is not bounds every in-order entry after it (order_exp), so its exp and
 * x's first are the mailbox's earliest. A visit that runs out of its limit first leaves the
 * mailbox due now, for the next call.
 */
export const SWEEP_SCRIPT = `${COMMON}
local now, budget, ttl = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local expired, receipts = 0, 0
-- Expires entry (or held group) id of uid's mailbox.
local function expire(uid, id)
  -- The deadline of a share's held parts: they go unless the share frame came in time.
  local dfrom, doid = string.match(id, '^d:([^:]+):(.+)$')
  if dfrom then
    redis.call('ZREM', key(uid, 'x'), id)
    budget = budget - 1
    if redis.call('HEXISTS', key(uid, 'e'), 'm:' .. dfrom .. ':' .. doid) == 0 then
      local parts = drop_group(uid, dfrom, doid)
      expired = expired + parts
      budget = budget - parts
    end
    return
  end
  local from, oid = string.match(id, '^h:([^:]+):(.+)$')
  if from then
    local parts = drop_group(uid, from, oid)
    expired = expired + parts
    budget = budget - math.max(parts, 1)
    return
  end
  local flag = remove(uid, id)
  if flag then
    expired = expired + 1
    budget = budget - 1
    if flag == '1' or flag == 'O' or flag == 'A' then
      receipts = receipts + file_receipt(uid, id, 'e', now, ttl)
    end
    if flag == 'o' or flag == 'O' then
      local sender, share = string.match(id, '^m:([^:]+):(.+)$')
      expired = expired + drop_group(uid, sender, share)
    end
  end
end
-- Expires uid's entries from q's head while they are due. Returns the exp of the first that is
-- not, nil when q is empty, or false when the limit ran out first.
local function walk(uid)
  local e, q = key(uid, 'e'), key(uid, 'q')
  -- Reads grow from 4 entries: usually the first is not due.
  local size = 4
  while budget > 0 do
    local ids = redis.call('ZRANGE', q, 0, size - 1)
    if #ids == 0 then
      return nil
    end
    local values = redis.call('HMGET', e, unpack(ids))
    for j, id in ipairs(ids) do
      local _, _, _, exp = parse(values[j])
      if tonumber(exp) > now then
        return tonumber(exp)
      end
      if budget <= 0 then
        return false
      end
      local before = budget
      expire(uid, id)
      if budget == before then
        error('sweep: entry ' .. j .. ' of a mailbox was not removed')
      end
    end
    size = math.min(size * 4, 100)
  end
  return false
end
local uids = redis.call('ZRANGEBYSCORE', EXPIRY, '-inf', ARGV[2], 'LIMIT', 0, budget)
for _, uid in ipairs(uids) do
  if budget <= 0 then
    break
  end
  local x = key(uid, 'x')
  local ids = redis.call('ZRANGEBYSCORE', x, '-inf', ARGV[2], 'LIMIT', 0, budget)
  for _, id in ipairs(ids) do
    expire(uid, id)
  end
  local soonest = false
  if budget > 0 then
    soonest = walk(uid)
  end
  if redis.call('EXISTS', key(uid, 'e')) == 0 then
    redis.call('ZREM', EXPIRY, uid)
  elseif soonest == false then
    redis.call('ZADD', EXPIRY, ARGV[2], uid)
  else
    local first = redis.call('ZRANGE', x, 0, 0, 'WITHSCORES')
    local listed = first[2] and tonumber(first[2])
    if listed and (not soonest or listed < soonest) then
      soonest = listed
    end
    if soonest then
      redis.call('ZADD', EXPIRY, fmt(soonest), uid)
    else
      redis.call('ZREM', EXPIRY, uid)
    end
  end
end
local left = redis.call('ZRANGEBYSCORE', EXPIRY, '-inf', ARGV[2], 'LIMIT', 0, 1)
return {expired, receipts, #left > 0 and 1 or 0}
`;

/**
 * Files a share's offer once all its parts are held. ARGV: prefix, to, from, share mid, now,
 * ttlMs, receipt ('1'|'0'), parts, auto ('1'|'0'), preview.
 * Returns {'stored', seq, prev, ts, exp} | {'dup', seq, ts, exp} | {'incomplete', held}.
 */
export const SHARE_SCRIPT = `${COMMON}
local to, from, oid = ARGV[2], ARGV[3], ARGV[4]
local now, ttl, parts = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[8])
local id = 'm:' .. from .. ':' .. oid
local e = key(to, 'e')
local r = redis.call('HMGET', e, id, 'n', 'b', 'c', 's', 'm')
if r[1] then
  local _, seq, ts, exp = parse(r[1])
  return {'dup', seq, ts, exp}
end
local held = redis.call('HLEN', group_key(to, from, oid))
if held < parts then
  return {'incomplete', tostring(held)}
end
local exp = math.min(now + ttl, tonumber(redis.call('ZSCORE', key(to, 'x'), 'h:' .. from .. ':' .. oid)))
-- Filed: the parts no longer wait for a share frame; they live as long as the offer.
redis.call('ZREM', key(to, 'x'), 'd:' .. from .. ':' .. oid)
local flag = ARGV[7] == '1' and 'O' or 'o'
if ARGV[9] == '1' then
  release(to, from, oid)
  r = redis.call('HMGET', e, id, 'n', 'b', 'c', 's', 'm')
  flag = ARGV[7] == '1' and 'A' or 'a'
end
local seq, prev = insert(to, id, flag, now, exp, tostring(parts) .. ':' .. ARGV[10], r, true)
return {'stored', seq, prev, fmt(now), fmt(exp)}
`;

/**
 * Answers an offer. ARGV: prefix, uid, offer entry id, accept ('1'|'0'), now, receiptTtlMs.
 * Returns 'accepted', 'rejected' or 'unknown' (no offer waiting under that id).
 */
export const ANSWER_SCRIPT = `${COMMON}
local uid, id, now, ttl = ARGV[2], ARGV[3], tonumber(ARGV[5]), tonumber(ARGV[6])
local v = redis.call('HGET', key(uid, 'e'), id)
local flag = v and string.sub(v, 1, 1)
if flag ~= 'o' and flag ~= 'O' then
  return 'unknown'
end
local from, oid = string.match(id, '^m:([^:]+):(.+)$')
if ARGV[4] == '1' then
  release(uid, from, oid)
  remove(uid, id)
  if flag == 'O' then
    file_receipt(uid, id, 'd', now, ttl)
  end
  return 'accepted'
end
drop_group(uid, from, oid)
remove(uid, id)
file_receipt(uid, id, 'j', now, ttl)
return 'rejected'
`;
