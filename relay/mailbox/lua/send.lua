-- Stores a batch of sends: every send of one event-loop turn to the mailboxes of one slot (all
-- of them on a standalone server), in one call; and the copies of sends that go to the senders'
-- own mailboxes of this slot (a copy is its own item, in its sender's slot).
-- KEYS[1..8n] BOX_KEYS (8) per mailbox, mailbox 1 first (mailbox.lua: e, q, x, pk, h, bell, expiry, d)
-- ARGV[1] max messages per mailbox
-- ARGV[2] max bytes per mailbox
-- ARGV[3] number of sends
-- ARGV[4..end] SEND_STRIDE (11) arguments per send:
--         +0 mailbox (its index among the KEYS groups, 1-based), +1 uid, +2 entry id
--         m:<from>:<mid> (c:<to>:<mid> for a copy), +3 now (ms), +4 ttl (ms), +5 receipt
--         ('1'|'0'), +6 bell ('1'|'0'), +7 body, +8 share mid ('' unless the send is a held part
--         of that share), +9 hold (ms a held part waits for its share frame; each part renews
--         it), +10 copy: '' for a send, else the sending device's slot, whose bit the copy's ack
--         mask starts with (no quota, no receipt; a copy already there is kept: 'dup'; one that
--         every live device would have acked already is not filed: 'stored' with seq 0)
-- Returns 5 values per send, joined by commas into one string: 'stored', seq, prev, ts, exp |
-- 'dup', seq, ts, exp, '' | 'unknown', '', '', '', '' | 'quota', 'messages'|'bytes', '', '', ''.
local max_n, max_b = tonumber(ARGV[1]), tonumber(ARGV[2])
local SEND_STRIDE = 11
local FIRST = 4
local out = {}
local function answer(a, v1, v2, v3, v4, v5)
  local o = (a - FIRST) / SEND_STRIDE * 5
  out[o + 1], out[o + 2], out[o + 3], out[o + 4], out[o + 5] = v1, v2, v3, v4, v5
end

-- A part of share oid: held in its group, not delivered, no doorbell.
local function hold(bx, a)
  local id, oid = ARGV[a + 2], ARGV[a + 8]
  local now, ttl, hold_ms = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4]), tonumber(ARGV[a + 9])
  local receipt, body = ARGV[a + 5], ARGV[a + 7]
  local from, mid = string.match(id, '^m:([^:]+):(.+)$')
  local gid = from .. ':' .. oid
  local pid = 'p:' .. gid .. ':' .. mid
  local existing = redis.call('HGET', bx.h, pid)
  if existing then
    local _, ts, exp = held_header(existing)
    return answer(a, 'dup', '0', ts, exp, '')
  end
  local r = redis.call('HMGET', bx.e, 'n', 'b', 'c', 'm', 'i')
  if not r[3] and redis.call('EXISTS', bx.pk) == 0 then
    return answer(a, 'unknown', '', '', '', '')
  end
  local n, b, c = tonumber(r[1]) or 0, tonumber(r[2]) or 0, tonumber(r[3]) or 0
  local over = over_quota(n, b, #body, max_n, max_b)
  if over then
    return answer(a, 'quota', over, '', '', '')
  end
  local gexp = redis.call('ZSCORE', bx.x, 'h:' .. gid)
  local exp = now + ttl
  if gexp then
    exp = math.min(exp, tonumber(gexp))
  else
    redis.call('ZADD', bx.x, fmt(exp), 'h:' .. gid)
    c = c + 1
  end
  local soonest = exp
  -- Until the share frame files the offer, the parts go at the deadline each part renews.
  if redis.call('HEXISTS', bx.e, 'm:' .. gid) == 0 then
    soonest = math.min(tonumber(gexp) or exp, now + hold_ms)
    redis.call('ZADD', bx.x, fmt(soonest), 'd:' .. gid)
  end
  local i = index_exp(bx, math.min(exp, soonest), r[5]) or r[5]
  local order = redis.call('HINCRBY', bx.h, 'g:' .. gid, 1)
  redis.call('HSET', bx.h, pid, receipt .. order .. ':' .. fmt(now) .. ':' .. fmt(exp) .. ':' .. body)
  redis.call('HSET', bx.e, 'n', fmt(n + 1), 'b', fmt(b + #body), 'c', fmt(c), 'm', fmt(stored_m(r[4])), 'i', i)
  answer(a, 'stored', '0', '0', fmt(now), fmt(exp))
end

-- A run of plain sends to one mailbox, in order: one HMGET (dedupe, quota, high-water seq) and
-- one write per structure, however many sends the run holds.
local function send_run(bx, run)
  local count = #run
  local r = read_group(bx, run, 'n', 'b', 'c', 's', 'm', 'i')
  local n = tonumber(r[count + 1]) or 0
  local b = tonumber(r[count + 2]) or 0
  local c = tonumber(r[count + 3]) or 0
  local s = tonumber(r[count + 4]) or 0
  local m = stored_m(r[count + 5])
  -- Entries are only ever filed for registered users, so a non-empty mailbox needs no check.
  local known = r[count + 3] and true or nil
  local filed = {}
  local zq, zx, hs = {}, {}, {}
  local min_exp, bell, live = nil, nil, nil
  for j, a in ipairs(run) do
    local id, body, copy = ARGV[a + 2], ARGV[a + 7], ARGV[a + 10]
    local prior = filed[id]
    if r[j] then
      local _, seq, ts, exp = parse(r[j])
      prior = { seq, ts, exp }
    end
    local preset = nil
    if copy ~= '' and not prior then
      live = live or live_mask(bx)
      preset = bit.lshift(1, tonumber(copy))
    end
    if prior then
      answer(a, 'dup', prior[1], prior[2], prior[3], '')
    elseif preset and bit.band(preset, live) == live then
      answer(a, 'stored', '0', '0', ARGV[a + 3], '0')
    elseif preset then
      -- A copy for the sender's other devices: counts as an entry (c), not against the quota.
      local sn = ARGV[a + 3]
      local exp = tonumber(sn) + tonumber(ARGV[a + 4])
      local prev = fmt(s)
      s = math.max(clock(), s + 1)
      c = c + 1
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
      hs[#hs + 1] = header('c', ss, sn, se, #body)
      hs[#hs + 1] = content(id)
      hs[#hs + 1] = body
      hs[#hs + 1] = 'a:' .. id
      hs[#hs + 1] = fmt(preset)
      if not min_exp or exp < min_exp then
        min_exp = exp
      end
      bell = ss
      filed[id] = { ss, sn, se }
      answer(a, 'stored', ss, prev, sn, se)
    else
      if known == nil then
        known = redis.call('EXISTS', bx.pk) == 1
      end
      local over = known and over_quota(n, b, #body, max_n, max_b)
      if not known then
        answer(a, 'unknown', '', '', '', '')
      elseif over then
        answer(a, 'quota', over, '', '', '')
      else
        -- now arrives as the relay's decimal string: kept as is, not printed again.
        local sn = ARGV[a + 3]
        local exp = tonumber(sn) + tonumber(ARGV[a + 4])
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
        hs[#hs + 1] = header(ARGV[a + 5], ss, sn, se, #body)
        hs[#hs + 1] = content(id)
        hs[#hs + 1] = body
        if not min_exp or exp < min_exp then
          min_exp = exp
        end
        if ARGV[a + 6] == '1' then
          bell = ss
        end
        filed[id] = { ss, sn, se }
        answer(a, 'stored', ss, prev, sn, se)
      end
    end
  end
  if #hs == 0 then
    return
  end
  redis.call('ZADD', bx.q, unpack(zq))
  if #zx > 0 then
    redis.call('ZADD', bx.x, unpack(zx))
  end
  hs[#hs + 1], hs[#hs + 2], hs[#hs + 3], hs[#hs + 4], hs[#hs + 5] = 'n', fmt(n), 'b', fmt(b), 'c'
  hs[#hs + 1], hs[#hs + 2], hs[#hs + 3], hs[#hs + 4], hs[#hs + 5] = fmt(c), 's', fmt(s), 'm', fmt(m)
  local i = index_exp(bx, min_exp, r[count + 6])
  if i then
    hs[#hs + 1], hs[#hs + 2] = 'i', i
  end
  redis.call('HSET', bx.e, unpack(hs))
  -- One doorbell with the highest seq: a connection pulls everything after its cursor anyway.
  if bell then
    redis.call('SPUBLISH', bx.bell, 'b' .. bell)
  end
end

-- Sends grouped by mailbox (mailboxes are independent; each keeps its sends in batch order), a
-- mailbox's sends split into runs at each held part, which reads and writes the same counters.
local order, groups = by_box(FIRST, tonumber(ARGV[3]), SEND_STRIDE)
for _, g in ipairs(order) do
  local bx = box(g, ARGV[groups[g][1] + 1])
  local run = {}
  for _, a in ipairs(groups[g]) do
    if ARGV[a + 8] ~= '' then
      if #run > 0 then
        send_run(bx, run)
        run = {}
      end
      hold(bx, a)
    else
      run[#run + 1] = a
    end
  end
  if #run > 0 then
    send_run(bx, run)
  end
end
return table.concat(out, ',')
