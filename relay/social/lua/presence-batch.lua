-- A turn's presence updates in one call, on a standalone presence Redis (a script may touch any
-- key there): each update in order, as if alone, so that two friends updating in the same turn
-- match as they would one after the other. Per update: own_update() (slot, jump check, presence),
-- then, for a stored baseline update, each friend's presence: a friend whose live cell is in
-- range marks the pair's encounter (mark(): a live mark keeps its encounter and is extended; it
-- begins at the earlier of the two updates and lasts a window from there).
-- KEYS[1..n] per update, in order: pb:{uid}:pu, pb:{uid}:pr, then per friend pb:{friend}:pr and
--            the pair's mark pb:near:{a:b}
-- ARGV[1]    the number of updates
-- ARGV[2..n] per update, in order: now (relay ms), the presence interval (ms, 0 takes no slot),
--            the window (ms), the jump limit (km/h), the cell ('' blind), its centre's latitude
--            and longitude (texts; '' blind), D, the D cells in range of the cell (gridDisk), F,
--            the number of friends (their keys in KEYS)
-- Returns, per update in order: its status ('o' stored, 'f' too frequent, 'j' an implausible
-- jump), the number M of encounters whose notices are not filed yet, then M times: the friend's
-- position among the update's friends (from 1), the encounter's since and until.
local out = {}
local k, a = 1, 2
for _ = 1, tonumber(ARGV[1]) do
  local now, interval, window, maxkmh = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]),
    tonumber(ARGV[a + 3])
  local cell, lat, lng = ARGV[a + 4], ARGV[a + 5], ARGV[a + 6]
  local d = tonumber(ARGV[a + 7])
  local disk = {}
  for i = a + 8, a + 7 + d do
    disk[ARGV[i]] = true
  end
  local friends = tonumber(ARGV[a + 8 + d])
  a = a + 9 + d
  local status = own_update(KEYS[k], KEYS[k + 1], now, interval, window, maxkmh, cell, lat, lng, disk)
  out[#out + 1] = status
  local count = #out + 1
  out[count] = 0
  if status == 'o' and cell ~= '' then
    for f = 1, friends do
      local key = k + 2 * f
      local theirs = in_range_at(redis.call('GET', KEYS[key]), now, disk)
      if theirs then
        local begins = math.min(theirs, now)
        local since, till, notified = mark(KEYS[key + 1], now, begins, begins + window)
        if notified == '0' then
          out[#out + 1] = f
          out[#out + 1] = fmt(since)
          out[#out + 1] = fmt(till)
          out[count] = out[count] + 1
        end
      end
    end
  end
  k = k + 2 + 2 * friends
end
return out
