-- Posts one blind-mode token until now + window, in the token's slot, and returns the users whose
-- live entries of the other kind hold it. One script per token, so of two users posting the same
-- token at once the later always sees the earlier.
-- KEYS[1]  pb:tok:{<token>}, entries: 'a' | 'n' + uid -> <end>
-- ARGV[1]  kind: 'a' (uid is at the token's cell) | 'n' (near it)
-- ARGV[2]  uid
-- ARGV[3]  now (relay ms)
-- ARGV[4]  window (ms)
-- Returns the other users matched (their entries of the other kind, still live).
local kind, uid = ARGV[1], ARGV[2]
local now, window = tonumber(ARGV[3]), tonumber(ARGV[4])
local wanted = kind == 'a' and 'n' or 'a'
local all = redis.call('HGETALL', KEYS[1])
local out = {}
for j = 1, #all, 2 do
  local f = all[j]
  local other = string.sub(f, 2)
  if string.sub(f, 1, 1) == wanted and other ~= uid and tonumber(all[j + 1]) > now then
    out[#out + 1] = other
  end
end
redis.call('HSET', KEYS[1], kind .. uid, fmt(now + window))
-- One window for every caller (the relay's config), so the newest post sets the latest end.
redis.call('PEXPIRE', KEYS[1], window)
return out
