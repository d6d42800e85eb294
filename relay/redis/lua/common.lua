-- Helpers shared by every passby script (relay/redis/lua.ts puts this file first).
--
-- Numbers: seqs reach ~1.8e15 and relay times ~1.8e12. They are exact in Lua's doubles, but
-- tostring() prints them as 1.8e+15, so every number that leaves a script, enters a stored value
-- or is passed to redis.call goes through fmt(). '%d' (Lua 5.1 casts to a C long, exact up to
-- 2^53 here), not '%.0f': the float path of printf was a sixth of Redis's CPU on the message path
-- (bench/RESULTS.md); a Lua number handed to redis.call is printed with '%.17g', the same cost.
local function fmt(n)
  return string.format('%d', n)
end

-- A value "<number>:<rest>": the number and the rest.
local function timed(v)
  local e, rest = string.match(v, '^(%d+):(.*)$')
  return tonumber(e), rest
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
