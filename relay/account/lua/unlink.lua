-- The idle sweep of one registry (relay/account/idle.ts keeps the same rule): unlinks linked
-- devices unseen since ARGV[1] and pending ones approved before ARGV[2], never all live ones
-- (the most recently seen linked device, else pending one, stays). The caller then deletes each
-- unlinked device's index entry (dev-drop.lua, another slot).
-- KEYS[1]  pb:{uid}:d, the device registry
-- ARGV[1]  idleBefore (ms)
-- ARGV[2]  pendingBefore (ms)
-- ARGV[3]  the most devices to unlink
-- Returns {slot, did, slot, did, ...} of the devices unlinked.
local f = redis.call('HMGET', KEYS[1], 'x', 'm')
if f[1] or not f[2] then
  return {}
end
local mask = tonumber(f[2])
local idle, pending, budget = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local recs = records(KEYS[1])
local due, count, spare, spare_seen, spare_pending = {}, 0, nil, -1, true
for s = 0, SLOTS - 1 do
  local did, created, seen, state = record(recs[s + 1])
  if did and live(mask, s) then
    count = count + 1
    local p = state == 'p'
    if (p and created < pending) or (not p and seen < idle) then
      due[#due + 1] = {s, did}
    end
    if spare == nil or (spare_pending and not p) or (spare_pending == p and seen > spare_seen) then
      spare, spare_seen, spare_pending = s, seen, p
    end
  end
end
local out = {}
for _, d in ipairs(due) do
  if #out >= 2 * budget then
    break
  end
  if #due < count or d[1] ~= spare then
    mask = free_slot(KEYS[1], mask, d[1])
    out[#out + 1] = d[1]
    out[#out + 1] = d[2]
  end
end
return out
