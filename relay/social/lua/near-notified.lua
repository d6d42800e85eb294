-- Records that both friends of each encounter have their nearby notice (the last step: until then
-- the next presence update of either files the notices again, which is a no-op for a notice
-- already there). Several marks at once on one server (a turn's), one per call on a Cluster.
-- KEYS[1..n] the pairs' marks, "<until>:<since>:<notified 0|1>"
-- ARGV[1..n] since: the encounter whose notices were filed, one per mark
-- Returns how many were recorded (a mark that is gone or names another encounter is left).
local recorded = 0
for i = 1, #KEYS do
  local v = redis.call('GET', KEYS[i])
  if v then
    local u, s = string.match(v, '^(%d+):(%d+):')
    if s == ARGV[i] then
      redis.call('SET', KEYS[i], u .. ':' .. s .. ':1', 'KEEPTTL')
      recorded = recorded + 1
    end
  end
end
return recorded
