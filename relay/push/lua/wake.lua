-- The wake decision for one user: which of its devices get a wake-up push now.
-- KEYS[1]  pb:{uid}:push, the registrations: slot -> JSON
-- KEYS[2]  pb:{uid}:on, the online marks: slot -> '<until ms>:<connection token>'
-- KEYS[3]  pb:{uid}:wk, the wake marks: slot -> until ms
-- KEYS[4]  pb:{uid}:d, the device registry (m: the live mask, absent for a legacy user, whose one
--          device is slot 0; x: an erase under way, then nobody is woken)
-- ARGV[1]  the coalesce period in ms: a device woken less than this ago is not woken again
-- Returns { coalesced, slot, registration, slot, registration, ... }: the devices to wake, each
-- marked woken until now + ARGV[1].
local regs = redis.call('HGETALL', KEYS[1])
if #regs == 0 then
  return { 0 }
end
local registry = redis.call('HMGET', KEYS[4], 'm', 'x')
if registry[2] then
  return { 0 }
end
local mask = tonumber(registry[1] or '0')
if mask == 0 then
  mask = 1
end
local coalesce = tonumber(ARGV[1])
local now = math.floor(clock() / 1000)
local out = { 0 }
for i = 1, #regs, 2 do
  local slot = regs[i]
  if bit.band(bit.rshift(mask, tonumber(slot)), 1) == 1 then
    local on = redis.call('HGET', KEYS[2], slot)
    local onUntil = on and timed(on)
    if not (onUntil and onUntil > now) then
      local woken = tonumber(redis.call('HGET', KEYS[3], slot) or '0')
      if woken > now then
        out[1] = out[1] + 1
      else
        redis.call('HSET', KEYS[3], slot, fmt(now + coalesce))
        out[#out + 1] = slot
        out[#out + 1] = regs[i + 1]
      end
    end
  end
end
if #out > 1 then
  redis.call('PEXPIRE', KEYS[3], coalesce)
end
return out
