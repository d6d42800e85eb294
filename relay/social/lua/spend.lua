-- A fixed-window budget of one user's: "<start>:<used>:<end>", whose key lives for the window from
-- its start. The end is kept so that an export can tell when the window ends (a value written
-- before it was kept, "<start>:<used>", reads the same here). Atomic, so of concurrent spends only
-- those that fit are counted, on any relay node.
-- KEYS[1]  pb:{uid}:lk (look-ups) or pb:{uid}:pu (presence updates)
-- ARGV[1]  count to spend
-- ARGV[2]  max per window
-- ARGV[3]  now (relay ms)
-- ARGV[4]  window (ms)
-- Returns 1 when counted, 0 (nothing counted) when over.
local count, max = tonumber(ARGV[1]), tonumber(ARGV[2])
local now, window = tonumber(ARGV[3]), tonumber(ARGV[4])
local v = redis.call('GET', KEYS[1])
local start, used = nil, 0
if v then
  local s, rest = timed(v)
  if s + window > now then
    start, used = s, tonumber(string.match(rest, '^%d+'))
  end
end
if used + count > max then
  return 0
end
if start then
  redis.call('SET', KEYS[1], fmt(start) .. ':' .. fmt(used + count) .. ':' .. fmt(start + window), 'KEEPTTL')
else
  redis.call('SET', KEYS[1], fmt(now) .. ':' .. fmt(count) .. ':' .. fmt(now + window), 'PX', window)
end
return 1
