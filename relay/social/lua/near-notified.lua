-- Records that both friends of an encounter have their nearby notice (the last step: until then
-- the next presence update of either files the notices again, which is a no-op for a notice
-- already there).
-- KEYS[1] the pair's mark, "<until>:<since>:<notified 0|1>"
-- ARGV[1] since: the encounter whose notices were filed
-- Returns 1 when recorded, 0 when the mark is gone or names another encounter.
local v = redis.call('GET', KEYS[1])
if not v then
  return 0
end
local u, s = string.match(v, '^(%d+):(%d+):')
if s ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], u .. ':' .. s .. ':1', 'KEEPTTL')
return 1
