-- Marks two friends in range (for pre-approved shares and the nearby notices), keeping the
-- encounter a live mark already holds: the first update of an encounter names it (since), the
-- later ones only extend it.
-- KEYS[1] the pair's mark, "<until>:<since>:<notified 0|1>"
-- ARGV[1] now (ms)
-- ARGV[2] since: when the encounter began, if this update begins it
-- ARGV[3] until: the end of the window this update sees
-- Returns {since, until, notified}: the encounter's, after this update.
local now = tonumber(ARGV[1])
local since, till, notified = tonumber(ARGV[2]), tonumber(ARGV[3]), '0'
local v = redis.call('GET', KEYS[1])
if v then
  local u, s, n = string.match(v, '^(%d+):(%d+):([01])$')
  if u and tonumber(u) > now then
    since, notified = tonumber(s), n
    till = math.max(till, tonumber(u))
  end
end
redis.call('SET', KEYS[1], fmt(till) .. ':' .. fmt(since) .. ':' .. notified, 'PX', math.max(1, till - now))
return { fmt(since), fmt(till), notified }
