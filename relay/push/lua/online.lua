-- Marks connections of one user's devices online (attach, refresh), or one offline (detach).
-- KEYS[1]  pb:{uid}:on, the online marks: slot -> '<until ms>:<connection token>'
-- KEYS[2]  pb:{uid}:wk, the wake marks: slot -> until ms
-- KEYS[3]  pb:{uid}:d, the device registry (x: an erase under way, then nothing is marked)
-- KEYS[4]  pb:{uid}:push, the registrations: only a device that has one is marked (the marks
--          serve the wake decision alone, and a user without pushes keeps no keys for them)
-- ARGV[1]  'attach' (mark, and drop the device's wake mark), 'refresh' or 'detach'
-- ARGV[2]  how long a mark lasts, in ms
-- ARGV[3..n]  pairs: a device slot, its connection's token
-- Returns the number of marks written or removed.
local op, ttl = ARGV[1], tonumber(ARGV[2])
local now = math.floor(clock() / 1000)
local changed = 0
if op ~= 'detach' and redis.call('HEXISTS', KEYS[3], 'x') == 1 then
  return 0
end
for i = 3, #ARGV, 2 do
  local slot, token = ARGV[i], ARGV[i + 1]
  local cur = redis.call('HGET', KEYS[1], slot)
  local untilMs, holder = nil, nil
  if cur then
    untilMs, holder = timed(cur)
  end
  if op == 'detach' then
    if holder == token then
      changed = changed + redis.call('HDEL', KEYS[1], slot)
    end
  elseif redis.call('HEXISTS', KEYS[4], slot) == 0 then
    -- No registration: nothing to decide for this device.
  elseif op == 'attach' or not cur or holder == token or untilMs <= now then
    -- A refresh leaves another connection's live mark alone: that one replaced this one.
    redis.call('HSET', KEYS[1], slot, fmt(now + ttl) .. ':' .. token)
    if op == 'attach' then
      redis.call('HDEL', KEYS[2], slot)
    end
    changed = changed + 1
  end
end
if changed > 0 and op ~= 'detach' then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return changed
