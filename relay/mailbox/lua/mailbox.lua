-- The mailbox's rules, once (relay/mailbox/redis.ts documents the key layout). Every script of
-- relay/mailbox/lua/ starts with these helpers, after relay/redis/lua/common.lua.
--
-- A script gets the keys of each mailbox it touches as KEYS, BOX_KEYS per user, in this order
-- (relay/mailbox/keys.ts builds them):
--   1 e       hash: entry id -> stored value, and the counters n, b, c, s, m
--   2 q       zset: entry id -> seq (mailbox order)
--   3 x       zset: entry id -> exp, for the entries that expire out of order
--   4 pk      string: the user's public key (the user exists)
--   5 h       hash: the held parts of the user's unfinished or unanswered shares
--   6 bell    the doorbell channel (SPUBLISH), not a key, passed so that it is routed with them
--   7 expiry  zset: the expiry index shard of the user's slot: uid -> earliest expiry, and
--             receipts waiting to be filed ("r <from> <receipt id> <flag><at>" -> due time)
--   8 d       hash: the device registry (relay/account writes it); the mailbox reads only its
--             field m, the live device mask, and only where a rule needs it (live_mask)
local BOX_KEYS = 8

-- The keys of the i-th mailbox of the call (1-based).
local function box(i, uid)
  local k = (i - 1) * BOX_KEYS
  return { uid = uid, e = KEYS[k + 1], q = KEYS[k + 2], x = KEYS[k + 3], pk = KEYS[k + 4],
    h = KEYS[k + 5], bell = KEYS[k + 6], expiry = KEYS[k + 7], d = KEYS[k + 8] }
end

-- Per-device delivery. Each device of a user has a slot 0..15; field m of the registry d is the
-- live device mask (bit s: slot s is live). Absent or 0: a legacy user, one device in slot 0.
-- An entry's ack mask is field 'a:<entry id>' of e: bit s set = slot s acked it, bit 16
-- (RECEIPT_FILED) = its `delivered` receipt has been noted. Absent = nobody acked it. An entry
-- goes (body and all) once its mask covers every live slot, or when it expires.
local RECEIPT_FILED = 65536

-- The live device mask of a mailbox's user (one HGET).
local function live_mask(bx)
  local m = tonumber(redis.call('HGET', bx.d, 'm')) or 0
  if m == 0 then
    return 1
  end
  return m
end

-- The ack rule: what an ack by `slot` does to an entry whose mask is `mask` (0 when none), the
-- user's live mask being `live`. Returns 'skip' (the slot acked it already, or is not live: an
-- ack in flight from a device just dropped must not mark a slot a later device reuses), 'all'
-- (every live slot has acked it now: delete it), or the entry's new mask (others still wait).
local function ack_rule(mask, slot, live)
  local bit_s = bit.lshift(1, slot)
  if bit.band(live, bit_s) == 0 or bit.band(mask, bit_s) ~= 0 then
    return 'skip'
  end
  mask = bit.bor(mask, bit_s)
  if bit.band(mask, live) == live then
    return 'all'
  end
  return mask
end

-- A batch's items grouped by mailbox: `count` items of `stride` arguments from ARGV[first], each
-- starting with its mailbox's index. Returns the mailbox indices in the order first met, and
-- each one's list of ARGV offsets, in batch order.
local function by_box(first, count, stride)
  local groups, order = {}, {}
  for i = 0, count - 1 do
    local a = first + i * stride
    local g = tonumber(ARGV[a])
    local list = groups[g]
    if not list then
      list = {}
      groups[g] = list
      order[#order + 1] = g
    end
    list[#list + 1] = a
  end
  return order, groups
end

-- One HMGET of a mailbox group's entries (the entry id of each op is ARGV[a + 2]), then the
-- counter fields named: r[j] is op j's stored value, r[#ops + k] the k-th counter.
local function read_group(bx, ops, ...)
  local fields = {}
  for j, a in ipairs(ops) do
    fields[j] = ARGV[a + 2]
  end
  for _, f in ipairs({ ... }) do
    fields[#fields + 1] = f
  end
  return redis.call('HMGET', bx.e, unpack(fields))
end

-- A stored entry is two fields of e: its header '<id>' -> <flag><seq>:<ts>:<exp>:<bytes>, and,
-- when bytes > 0, its content 'b:<id>' -> those bytes, written straight from the script's argument
-- and read only to deliver it: an ack, a sweep or a summary reads the header alone (a Lua string
-- of a 64 KiB body costs Redis a pass over every byte to hash it). flag is '0' or '1' for a message
-- (receipt asked), 'd', 'e' or 'j' for a receipt (delivered, expired, rejected; ts is then the
-- receipt's "at"; no content), 'n' for a notice (content: its JSON), 'o' or 'O' for an offer
-- waiting for an answer (receipt asked) and 'a' or 'A' for an offer accepted by pre-approval
-- (receipt asked; content: <parts>:<preview>), 'c' for a copy of a message its user sent (entry id
-- c:<to>:<mid>, filed in the sender's own mailbox for its other devices: no quota, no receipt). An
-- offer that asked for a receipt files 'd' once accepted: by an answer, or, pre-approved, by its
-- ack. A message's bytes are what the quota counts (b).
--
-- A value that a relay before this layout stored holds its content inline, after the third colon
-- (<flag><seq>:<ts>:<exp>:<content>, no b: field): such an entry is read as well, until it goes.
-- parse returns its content's offset in v as `inline` (nil for a header). The one value it cannot
-- tell apart is an old one whose whole content is ASCII digits (never a sealed body: those start
-- with 0x01 or 0x02): read as a header, it is delivered empty.
local function parse(v)
  local flag, seq, ts, exp, digits = string.match(v, '^(.)(%d+):(%d+):(%d+):(%d*)')
  local hlen = #seq + #ts + #exp + 4
  if #digits > 0 and hlen + #digits == #v then
    return flag, seq, ts, exp, tonumber(digits), nil
  end
  return flag, seq, ts, exp, #v - hlen, hlen + 1
end

-- The field of e holding entry id's content.
local function content(id)
  return 'b:' .. id
end

-- An entry's header (parse).
local function header(flag, seq, ts, exp, bytes)
  return flag .. seq .. ':' .. ts .. ':' .. exp .. ':' .. fmt(bytes)
end

-- Expiry order. An entry is in order when its exp is no earlier than that of every in-order
-- entry filed before it since the mailbox was last empty (field m holds the latest such exp).
-- Read in q's order, in-order entries expire in order, so they need no index of their own: the
-- sweep walks them from q's head. Only the others (a shorter ttl after a longer one) and the held
-- groups have an entry in x. Returns the mailbox's new m and whether exp belongs in x.
local function order_exp(exp, m)
  if exp >= m then
    return exp, false
  end
  return m, true
end

-- The mailbox's m from its field, 0 for an empty mailbox.
local function stored_m(m)
  return tonumber(m) or 0
end

-- Quota: nil when a message of `size` bytes fits beside n messages of b bytes, else which limit.
local function over_quota(n, b, size, max_n, max_b)
  if n >= max_n then
    return 'messages'
  end
  if b + size > max_b then
    return 'bytes'
  end
  return nil
end

-- Writes the counters, or deletes the mailbox (and its index entry) once it holds no entry: an
-- empty mailbox leaves only pk behind.
local function set_counts(bx, n, b, c)
  if c <= 0 then
    redis.call('DEL', bx.e, bx.q, bx.x)
    redis.call('ZREM', bx.expiry, bx.uid)
    return false
  end
  redis.call('HSET', bx.e, 'n', fmt(n), 'b', fmt(b), 'c', fmt(c))
  return true
end

-- Files the mailbox's earliest expiry in its index shard (never later than what it held). The
-- mailbox's field i holds what the shard holds for it (every write of one writes the other), so a
-- write that could not lower it costs no command: most sends, whose exp is no earlier. `i` is the
-- field as read; returns the field's new value, or nil when it stays.
local function index_exp(bx, exp, i)
  if i and tonumber(i) <= exp then
    return nil
  end
  redis.call('ZADD', bx.expiry, 'LT', fmt(exp), bx.uid)
  return fmt(exp)
end

-- Appends an entry whose id is not in the mailbox yet; r is HMGET of (id, n, b, c, s, m, i).
local function insert(bx, id, flag, now, exp, body, r, bell)
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
  local m, indexed = order_exp(exp, stored_m(r[6]))
  redis.call('ZADD', bx.q, s, id)
  if indexed then
    redis.call('ZADD', bx.x, fmt(exp), id)
  end
  local i = index_exp(bx, exp, r[7])
  local hs = { id, header(flag, s, fmt(now), fmt(exp), #body),
    'n', fmt(n), 'b', fmt(b), 'c', fmt(c), 's', s, 'm', fmt(m), 'i', i or r[7] }
  if #body > 0 then
    hs[#hs + 1], hs[#hs + 2] = content(id), body
  end
  redis.call('HSET', bx.e, unpack(hs))
  if bell then
    redis.call('SPUBLISH', bx.bell, 'b' .. s)
  end
  return s, fmt(prev)
end

-- Deletes an entry (header, content, ack mask) and its index entries; the whole mailbox when it
-- was the last one. Returns the stored value's flag and its ack mask (0 when none), or nil when the entry was
-- not there.
local function remove(bx, id)
  local r = redis.call('HMGET', bx.e, id, 'n', 'b', 'c', 'a:' .. id)
  local v = r[1]
  if not v then
    return nil
  end
  local flag, _, _, _, bytes = parse(v)
  local n, b = tonumber(r[2]), tonumber(r[3])
  if flag == '0' or flag == '1' then
    n = n - 1
    b = b - bytes
  end
  if set_counts(bx, n, b, tonumber(r[4]) - 1) then
    redis.call('ZREM', bx.q, id)
    redis.call('ZREM', bx.x, id)
    redis.call('HDEL', bx.e, id, 'a:' .. id, content(id))
  end
  return flag, tonumber(r[5]) or 0
end

-- Held parts of share <from>:<oid> live in h: field 'p:<from>:<oid>:<mid>' -> <flag><arrival>:
-- <ts>:<exp>:<body> (flag '0'/'1'), and 'g:<from>:<oid>' -> how many parts it holds. The group
-- counts as one entry of the mailbox (c), its parts as messages (n, b), and it has its own expiry
-- entry 'h:<from>:<oid>' in x, set by its first part and never extended: a part expires no later
-- than the group. Until its share frame files the offer, the group also has a deadline
-- 'd:<from>:<oid>' in x (now + the hold time, renewed by every part): a share left unfinished
-- frees the recipient's quota that soon. IDs and mids are [A-Za-z0-9_-], so a field pattern
-- needs no escaping.
local function held_header(v)
  local flag, order, ts, exp = string.match(v, '^(.)(%d+):(%d+):(%d+):')
  return flag, ts, exp, #order + #ts + #exp + 4, tonumber(order)
end

-- The held parts of a group: {field, value} pairs, in no order.
local function held_parts(bx, from, oid)
  local out = {}
  local cursor = '0'
  repeat
    local page = redis.call('HSCAN', bx.h, cursor, 'MATCH', 'p:' .. from .. ':' .. oid .. ':*', 'COUNT', 1000)
    cursor = page[1]
    for i = 1, #page[2], 2 do
      out[#out + 1] = { page[2][i], page[2][i + 1] }
    end
  until cursor == '0'
  return out
end

-- Deletes a held group and its parts. Returns how many parts it held.
local function drop_group(bx, from, oid)
  local gid = from .. ':' .. oid
  redis.call('ZREM', bx.x, 'd:' .. gid)
  local count = tonumber(redis.call('HGET', bx.h, 'g:' .. gid))
  if not count then
    redis.call('ZREM', bx.x, 'h:' .. gid)
    return 0
  end
  local bytes, fields = 0, { 'g:' .. gid }
  for _, part in ipairs(held_parts(bx, from, oid)) do
    local _, _, _, hlen = held_header(part[2])
    bytes = bytes + #part[2] - hlen
    fields[#fields + 1] = part[1]
  end
  redis.call('HDEL', bx.h, unpack(fields))
  redis.call('ZREM', bx.x, 'h:' .. gid)
  local r = redis.call('HMGET', bx.e, 'n', 'b', 'c')
  set_counts(bx, tonumber(r[1]) - count, tonumber(r[2]) - bytes, tonumber(r[3]) - 1)
  return count
end

-- Moves a held group's parts into the mailbox as messages, in the order they arrived, and rings
-- the doorbell.
local function release(bx, from, oid)
  local gid = from .. ':' .. oid
  local held = held_parts(bx, from, oid)
  if #held == 0 then
    return
  end
  local r = redis.call('HMGET', bx.e, 'c', 's', 'm')
  local c = tonumber(r[1]) - 1
  local s = tonumber(r[2]) or 0
  local m = stored_m(r[3])
  local parts, fields = {}, { 'g:' .. gid }
  local skip = #('p:' .. gid .. ':')
  for _, part in ipairs(held) do
    local _, _, _, _, order = held_header(part[2])
    parts[#parts + 1] = { order, string.sub(part[1], skip + 1), part[2] }
    fields[#fields + 1] = part[1]
  end
  table.sort(parts, function(a, b) return a[1] < b[1] end)
  for _, part in ipairs(parts) do
    local mid, v = part[2], part[3]
    local flag, ts, exp, hlen = held_header(v)
    local id = 'm:' .. from .. ':' .. mid
    s = math.max(clock(), s + 1)
    redis.call('ZADD', bx.q, fmt(s), id)
    local indexed
    m, indexed = order_exp(tonumber(exp), m)
    if indexed then
      redis.call('ZADD', bx.x, exp, id)
    end
    local body = string.sub(v, hlen + 1)
    redis.call('HSET', bx.e, id, header(flag, fmt(s), ts, exp, #body), content(id), body)
    c = c + 1
  end
  redis.call('HDEL', bx.h, unpack(fields))
  redis.call('ZREM', bx.x, 'h:' .. gid, 'd:' .. gid)
  redis.call('HSET', bx.e, 'c', fmt(c), 's', fmt(s), 'm', fmt(m))
  redis.call('SPUBLISH', bx.bell, 'b' .. fmt(s))
end

-- How long a receipt waits in the index shard for its second step before a sweep files it: the
-- relay files it at once; this is only for a relay that died between the two steps.
local RECEIPT_GRACE_MS = 30000

-- A receipt for message id m:<from>:<mid> of uid's mailbox (acknowledged, answered or expired):
-- the first step, in uid's slot, notes it in the slot's index shard, due RECEIPT_GRACE_MS after
-- `now`; the relay then files it in the sender's mailbox (receipts.lua, the second step, in the
-- sender's slot) and removes the note. Returns the note, which the script returns to the relay.
local function note_receipt(bx, id, status, now)
  local from, mid = string.match(id, '^m:([^:]+):(.+)$')
  local note = 'r ' .. from .. ' r:' .. bx.uid .. ':' .. mid .. ' ' .. status .. fmt(now)
  redis.call('ZADD', bx.expiry, fmt(now + RECEIPT_GRACE_MS), note)
  return note
end

-- A partial ack's receipt: an entry that asked for a `delivered` receipt (flag '1', or 'A' for a
-- pre-approved offer) files it at the first device's ack, once (bit RECEIPT_FILED of its mask).
-- Returns the mask with that bit, and the note to return (nil when none is due).
local function first_receipt(bx, id, flag, mask, now)
  if (flag == '1' or flag == 'A') and bit.band(mask, RECEIPT_FILED) == 0 then
    return bit.bor(mask, RECEIPT_FILED), note_receipt(bx, id, 'd', now)
  end
  return mask, nil
end

-- What the last ack of an entry does once remove() deleted it (flag and mask as it returned
-- them): the `delivered` receipt if no earlier ack filed it; an offer acked by every live device
-- without an answer is declined (its parts go, the sender gets `rejected`). Returns the note or nil.
local function acked_out(bx, id, flag, mask, now)
  if flag == 'o' or flag == 'O' then
    local from, oid = string.match(id, '^m:([^:]+):(.+)$')
    drop_group(bx, from, oid)
    return note_receipt(bx, id, 'j', now)
  end
  local _, note = first_receipt(bx, id, flag, mask, now)
  return note
end
