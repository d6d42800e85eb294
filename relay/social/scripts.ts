/*
 * The Lua scripts of the Redis social store (relay/social/redis.ts documents the key layout).
 * Each exported script is COMMON followed by its own body; every one takes the key prefix as
 * ARGV[1] and builds its keys itself, because most of them touch two users' keys or a global
 * index (one Redis, not a Cluster: see social-redis.ts).
 *
 * Times are relay milliseconds (~1.8e12): exact in Lua's doubles, printed through fmt() so that
 * tostring() never writes 1.8e+12. A key TTL is always relative (PX, PEXPIRE) so that it means
 * "this long from now" whatever the relay's clock says; the end stored in a value is what reads
 * compare with the caller's `now`.
 */

const COMMON = `
local prefix = ARGV[1]

-- Pending contact matches by expiry: member '<hash>:<requester>', score the entry's expiry.
local PENDING = prefix .. 'pendx'

local function key(uid, suffix)
  return prefix .. '{' .. uid .. '}:' .. suffix
end

local function fmt(n)
  return string.format('%.0f', n)
end

-- A value "<end>:<rest>": the end as a number and the rest.
local function timed(v)
  local e, rest = string.match(v, '^(%d+):(.*)$')
  return tonumber(e), rest
end
`;

/**
 * ARGV: prefix, op, uid, other[, flags]. The friend state machine; both sides' hashes change
 * together. Values: 'o' (uid asked other), 'i' (other asked uid), 'd' (other asked uid, who declined:
 * hidden from uid's list, while other's side stays 'o', so the requester is not told), 'f<p><a>'
 * (friends, with uid's own proximity and auto-accept switches as '0'/'1').
 *   request  -> 'requested' | 'friends' | 'already'
 *   accept, decline, remove -> '1' | '0'
 *   consent (flags = '<p><a>') -> '1' | '0'
 */
export const FRIEND_SCRIPT = `${COMMON}
local op, uid, other = ARGV[2], ARGV[3], ARGV[4]
local mine, theirs = key(uid, 'fr'), key(other, 'fr')
local s = redis.call('HGET', mine, other)
local friends = s and string.sub(s, 1, 1) == 'f'
if op == 'request' then
  if friends or s == 'o' then
    return 'already'
  end
  if s == 'i' or s == 'd' then
    redis.call('HSET', mine, other, 'f00')
    redis.call('HSET', theirs, uid, 'f00')
    return 'friends'
  end
  redis.call('HSET', mine, other, 'o')
  redis.call('HSET', theirs, uid, 'i')
  return 'requested'
end
if op == 'accept' then
  if s ~= 'i' then
    return '0'
  end
  redis.call('HSET', mine, other, 'f00')
  redis.call('HSET', theirs, uid, 'f00')
  return '1'
end
if op == 'decline' then
  if s ~= 'i' then
    return '0'
  end
  redis.call('HSET', mine, other, 'd')
  return '1'
end
if op == 'remove' then
  if not friends and s ~= 'o' then
    return '0'
  end
  -- A hash left empty is deleted by Redis itself.
  redis.call('HDEL', mine, other)
  redis.call('HDEL', theirs, uid)
  return '1'
end
if op == 'consent' then
  if not friends then
    return '0'
  end
  redis.call('HSET', mine, other, 'f' .. ARGV[5])
  return '1'
end
return redis.error_reply('unknown friend op')
`;

/** ARGV: prefix, uid. Returns the friends with proximity on for uid and uid on for them. */
export const PROXIMITY_SCRIPT = `${COMMON}
local uid = ARGV[2]
local all = redis.call('HGETALL', key(uid, 'fr'))
local out = {}
for i = 1, #all, 2 do
  if string.sub(all[i + 1], 1, 2) == 'f1' then
    local other = all[i]
    local theirs = redis.call('HGET', key(other, 'fr'), uid)
    if theirs and string.sub(theirs, 1, 2) == 'f1' then
      out[#out + 1] = other
    end
  end
end
return out
`;

/**
 * ARGV: prefix, uid, hash ('' to stop), now, ttlMs.
 * Returns {requester1, ticket1, ...}: the live pending matches for the hash (not uid's own),
 * which are deleted with the expired ones. An earlier entry of uid under another hash goes,
 * unless someone else has taken that hash since.
 */
export const DISCOVER_SCRIPT = `${COMMON}
local uid, hash = ARGV[2], ARGV[3]
local now, ttl = tonumber(ARGV[4]), tonumber(ARGV[5])
local own = key(uid, 'disc')
local old = redis.call('GET', own)
if old and old ~= hash then
  local entry = prefix .. 'disc:' .. old
  local v = redis.call('GET', entry)
  if v and select(2, timed(v)) == uid then
    redis.call('DEL', entry)
  end
end
if hash == '' then
  if old then
    redis.call('DEL', own)
  end
  return {}
end
redis.call('SET', prefix .. 'disc:' .. hash, fmt(now + ttl) .. ':' .. uid, 'PX', ttl)
redis.call('SET', own, hash, 'PX', ttl)
local pend = prefix .. 'pend:' .. hash
local all = redis.call('HGETALL', pend)
local out = {}
if #all == 0 then
  return out
end
redis.call('DEL', pend)
for i = 1, #all, 2 do
  redis.call('ZREM', PENDING, hash .. ':' .. all[i])
  local exp, ticket = timed(all[i + 1])
  if exp > now and all[i] ~= uid then
    out[#out + 1] = all[i]
    out[#out + 1] = ticket
  end
end
return out
`;

/**
 * ARGV: prefix, uid, now, ttlMs, n, hash1..hashN, fresh ticket1..ticketN.
 * Returns {id1, ticket1, ..., idN, ticketN} with '' for null. A miss files (or renews) uid's
 * pending match for the hash: a live one keeps its ticket, and expired ones are dropped on the
 * way. Each entry is indexed by its own expiry in PENDING, which SWEEP_PENDING_SCRIPT empties, so
 * no entry outlives its expiry by more than a sweep interval, whatever later look-ups of the same
 * hash do to the key's TTL (the latest expiry).
 */
export const LOOKUP_SCRIPT = `${COMMON}
local uid = ARGV[2]
local now, ttl, n = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local exp = fmt(now + ttl)
local out = {}
local filed = false
for i = 1, n do
  local hash = ARGV[5 + i]
  local id = ''
  local v = redis.call('GET', prefix .. 'disc:' .. hash)
  if v then
    local e, who = timed(v)
    if e > now then
      id = who
    end
  end
  local ticket = ''
  if id == '' then
    local pend = prefix .. 'pend:' .. hash
    ticket = ARGV[5 + n + i]
    local all = redis.call('HGETALL', pend)
    for j = 1, #all, 2 do
      local e, t = timed(all[j + 1])
      if e <= now then
        redis.call('HDEL', pend, all[j])
        redis.call('ZREM', PENDING, hash .. ':' .. all[j])
      elseif all[j] == uid then
        ticket = t
      end
    end
    redis.call('HSET', pend, uid, exp .. ':' .. ticket)
    redis.call('ZADD', PENDING, exp, hash .. ':' .. uid)
    filed = true
    if redis.call('PTTL', pend) < ttl then
      redis.call('PEXPIRE', pend, ttl)
    end
  end
  out[2 * i - 1] = id
  out[2 * i] = ticket
end
-- A backstop, should no relay sweep: the index lives no longer than its latest entry.
if filed and redis.call('PTTL', PENDING) < ttl then
  redis.call('PEXPIRE', PENDING, ttl)
end
return out
`;

/**
 * ARGV: prefix, uid, budget key suffix ('lk' look-ups, 'pu' presence updates), count, max, now,
 * windowMs. A fixed window: "<start>:<used>", whose key lives for the window from its start.
 * Returns 1 when counted, 0 (nothing counted) when over. Atomic, so of concurrent spends only
 * those that fit are counted, on any relay node.
 */
export const SPEND_SCRIPT = `${COMMON}
local k = key(ARGV[2], ARGV[3])
local count, max = tonumber(ARGV[4]), tonumber(ARGV[5])
local now, window = tonumber(ARGV[6]), tonumber(ARGV[7])
local v = redis.call('GET', k)
local start, used = nil, 0
if v then
  local s, u = timed(v)
  if s + window > now then
    start, used = s, tonumber(u)
  end
end
if used + count > max then
  return 0
end
if start then
  redis.call('SET', k, fmt(start) .. ':' .. fmt(used + count), 'KEEPTTL')
else
  redis.call('SET', k, fmt(now) .. ':' .. fmt(count), 'PX', window)
end
return 1
`;

/**
 * ARGV: prefix, uid, now, windowMs, nAt, at tokens..., near tokens...
 * Withdraws uid's earlier tokens, indexes the new ones until now + windowMs, and returns the
 * other users whose live "near" entries hold one of uid's "at" tokens or whose live "at" entries
 * are among uid's "near" tokens.
 */
export const TOKENS_SCRIPT = `${COMMON}
local uid = ARGV[2]
local now, window, nat = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local mine = key(uid, 'tok')
local function tk(t)
  return prefix .. 'tok:' .. t
end
local old = redis.call('SMEMBERS', mine)
if #old > 0 then
  for _, e in ipairs(old) do
    redis.call('HDEL', tk(string.sub(e, 2)), string.sub(e, 1, 1) .. uid)
  end
  redis.call('DEL', mine)
end
local untilMs = fmt(now + window)
local seen, out, members = {}, {}, {}
for i = 6, #ARGV do
  local t = ARGV[i]
  local kind, wanted = 'a', 'n'
  if i > 5 + nat then
    kind, wanted = 'n', 'a'
  end
  local k = tk(t)
  local all = redis.call('HGETALL', k)
  for j = 1, #all, 2 do
    local f = all[j]
    local other = string.sub(f, 2)
    if string.sub(f, 1, 1) == wanted and other ~= uid and not seen[other] and tonumber(all[j + 1]) > now then
      seen[other] = true
      out[#out + 1] = other
    end
  end
  redis.call('HSET', k, kind .. uid, untilMs)
  -- One window for every caller (the relay's config), so the newest post sets the latest end.
  redis.call('PEXPIRE', k, window)
  members[#members + 1] = kind .. t
  if #members == 1000 then
    redis.call('SADD', mine, unpack(members))
    members = {}
  end
end
if #members > 0 then
  redis.call('SADD', mine, unpack(members))
end
if #ARGV > 5 then
  redis.call('PEXPIRE', mine, window)
end
return out
`;

/**
 * ARGV: prefix, now, limit. Deletes up to `limit` pending contact matches whose expiry has
 * passed, with their index entries. Returns {removed, more} (more: 1 when the limit was hit).
 */
export const SWEEP_PENDING_SCRIPT = `${COMMON}
local now, limit = tonumber(ARGV[2]), tonumber(ARGV[3])
local due = redis.call('ZRANGEBYSCORE', PENDING, '-inf', fmt(now), 'LIMIT', 0, limit)
local removed = 0
for _, member in ipairs(due) do
  local hash, requester = string.match(member, '^([^:]+):(.+)$')
  local pend = prefix .. 'pend:' .. hash
  local v = redis.call('HGET', pend, requester)
  if v and timed(v) <= now then
    redis.call('HDEL', pend, requester)
    removed = removed + 1
  end
  redis.call('ZREM', PENDING, member)
end
return {removed, #due == limit and 1 or 0}
`;
