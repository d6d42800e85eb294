-- Helpers of the proximity rules, put after common.lua in front of every social script
-- (relay/social/redis-calls.ts): a user's fixed-window budget, the jump check, one user's own part
-- of a presence update, and the pair's encounter mark. One copy each, called by the one-call
-- batch of a turn (presence-batch.lua) and by the per-slot steps of a Cluster alike.
--
-- A presence value: "<at>:<end>:<cell>:<anchor cell>:<anchor at>:<lat>:<lng>". A baseline update
-- has its cell and empty anchor fields; a blind one an empty cell and, while it is younger than
-- the window, the last baseline cell and its time as anchor. <lat>:<lng> is the centre of that
-- last real cell (the cell, or the anchor), computed by the relay with h3-js, for the next jump
-- check. Values of an older relay end after <cell> or <anchor at>.

-- A fixed-window budget "<start>:<used>:<end>" under `key`, whose key lives for the window from
-- its start (a value "<start>:<used>" written before the end was kept reads the same). Spends
-- `count` of `max` per `window`; false (nothing counted) when over.
local function spend(key, count, max, now, window)
  local v = redis.call('GET', key)
  local start, used = nil, 0
  if v then
    local s, rest = timed(v)
    if s + window > now then
      start, used = s, tonumber(string.match(rest, '^%d+'))
    end
  end
  if used + count > max then
    return false
  end
  if start then
    redis.call('SET', key, fmt(start) .. ':' .. fmt(used + count) .. ':' .. fmt(start + window), 'KEEPTTL')
  else
    redis.call('SET', key, fmt(now) .. ':' .. fmt(count) .. ':' .. fmt(now + window), 'PX', window)
  end
  return true
end

-- The last real cell of presence value `v` if the value is live at `now` and that cell younger
-- than `window`: cell, at, and the texts of its centre's lat and lng (nil in an older relay's
-- value); nil otherwise.
local function last_place(v, now, window)
  if not v then
    return nil
  end
  local f = {}
  for part in string.gmatch(v .. ':', '([^:]*):') do
    f[#f + 1] = part
  end
  local e = tonumber(f[2])
  if not e or e <= now then
    return nil
  end
  local cell, at = f[3], tonumber(f[1])
  if cell == '' then
    cell, at = f[4], tonumber(f[5])
  end
  if not cell or cell == '' or not at or at + window <= now then
    return nil
  end
  return cell, at, f[6], f[7]
end

-- Metres between two centres as geolib's getDistance computes them (relay/social/geo.ts): the
-- spherical law of cosines on its earth radius, rounded to 0.01 m, so that the jump check
-- decides the same here as in the relay's process.
local function metres(lat1, lng1, lat2, lng2)
  local from, to = lat1 * math.pi / 180, lat2 * math.pi / 180
  local dlng = (lng1 - lng2) * math.pi / 180
  local c = math.sin(to) * math.sin(from) + math.cos(to) * math.cos(from) * math.cos(dlng)
  if c > 1 then
    c = 1
  elseif c < -1 then
    c = -1
  end
  return math.floor(math.acos(c) * 6378137 / 0.01 + 0.5) * 0.01
end

-- isPlausibleMove (relay/social/geo.ts): a step to a cell in range (`disk`, a set of the new
-- cell's gridDisk) always passes; otherwise the speed between the centres must not exceed
-- `maxkmh`, and no time (or back in time) is infinitely fast. A last cell stored without its
-- centre (an older relay's value) is not checked.
local function plausible(pcell, pat, plat, plng, disk, now, lat, lng, maxkmh)
  if disk[pcell] then
    return true
  end
  plat, plng = tonumber(plat), tonumber(plng)
  if not plat or not plng then
    return true
  end
  local elapsed = now - pat
  if elapsed <= 0 then
    return false
  end
  return metres(plat, plng, lat, lng) / 1000 / (elapsed / 3600000) <= maxkmh
end

-- One user's own part of a presence update, in the user's slot: takes the presence slot (none
-- when `interval` is 0), checks a baseline update's jump against the last real cell, and stores
-- the presence for the window. `cell` is '' for a blind update, which carries the last cell as
-- its anchor. `lat`, `lng` are the texts the relay sent (stored as they are). Returns 'o'
-- (stored), 'f' (too frequent: nothing changed) or 'j' (an implausible jump: the slot is spent,
-- the presence unchanged).
local function own_update(pu, pr, now, interval, window, maxkmh, cell, lat, lng, disk)
  if interval > 0 and not spend(pu, 1, 1, now, interval) then
    return 'f'
  end
  local pcell, pat, plat, plng = last_place(redis.call('GET', pr), now, window)
  local head = fmt(now) .. ':' .. fmt(now + window) .. ':'
  local value
  if cell ~= '' then
    if pcell and not plausible(pcell, pat, plat, plng, disk, now, tonumber(lat), tonumber(lng), maxkmh) then
      return 'j'
    end
    value = head .. cell .. ':::' .. lat .. ':' .. lng
  elseif pcell then
    value = head .. ':' .. pcell .. ':' .. fmt(pat)
    if plat and plng and plat ~= '' then
      value = value .. ':' .. plat .. ':' .. plng
    end
  else
    value = head
  end
  redis.call('SET', pr, value, 'PX', window)
  return 'o'
end

-- The time of presence value `v` when it is live at `now` and its cell (a baseline update's) is
-- in `disk`; nil otherwise.
local function in_range_at(v, now, disk)
  if not v then
    return nil
  end
  local at, e, cell = string.match(v, '^(%d+):(%d+):([^:]*)')
  if at and tonumber(e) > now and cell ~= '' and disk[cell] then
    return tonumber(at)
  end
  return nil
end

-- Marks a pair in range in its mark `key` ("<until>:<since>:<notified 0|1>"), keeping the
-- encounter a live mark already holds: the first update of an encounter names it (`since`), the
-- later ones only extend it to `till`. Returns since, till, notified: the encounter's, after it.
local function mark(key, now, since, till)
  local notified = '0'
  local v = redis.call('GET', key)
  if v then
    local u, s, n = string.match(v, '^(%d+):(%d+):([01])$')
    if u and tonumber(u) > now then
      since, notified = tonumber(s), n
      till = math.max(till, tonumber(u))
    end
  end
  redis.call('SET', key, fmt(till) .. ':' .. fmt(since) .. ':' .. notified, 'PX', math.max(1, till - now))
  return since, till, notified
end
