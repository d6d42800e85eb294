-- Files a share's offer once all its parts are held.
-- KEYS[1..8] BOX_KEYS of the recipient's mailbox (mailbox.lua)
-- ARGV[1] recipient uid
-- ARGV[2] sender uid
-- ARGV[3] share mid
-- ARGV[4] now (ms)
-- ARGV[5] ttl (ms)
-- ARGV[6] receipt ('1'|'0')
-- ARGV[7] parts
-- ARGV[8] auto ('1'|'0': accepted by pre-approval, the parts are released at once)
-- ARGV[9] the encrypted preview
-- Returns {'stored', seq, prev, ts, exp} | {'dup', seq, ts, exp} | {'incomplete', held}.
local bx = box(1, ARGV[1])
local from, oid = ARGV[2], ARGV[3]
local now, ttl, parts = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[7])
local gid = from .. ':' .. oid
local id = 'm:' .. gid
local r = redis.call('HMGET', bx.e, id, 'n', 'b', 'c', 's', 'm', 'i')
if r[1] then
  local _, seq, ts, exp = parse(r[1])
  return { 'dup', seq, ts, exp }
end
local held = tonumber(redis.call('HGET', bx.h, 'g:' .. gid)) or 0
if held < parts then
  return { 'incomplete', fmt(held) }
end
local exp = math.min(now + ttl, tonumber(redis.call('ZSCORE', bx.x, 'h:' .. gid)))
-- Filed: the parts no longer wait for a share frame; they live as long as the offer.
redis.call('ZREM', bx.x, 'd:' .. gid)
local flag = ARGV[6] == '1' and 'O' or 'o'
if ARGV[8] == '1' then
  release(bx, from, oid)
  r = redis.call('HMGET', bx.e, id, 'n', 'b', 'c', 's', 'm', 'i')
  flag = ARGV[6] == '1' and 'A' or 'a'
end
local seq, prev = insert(bx, id, flag, now, exp, fmt(parts) .. ':' .. ARGV[9], r, true)
return { 'stored', seq, prev, fmt(now), fmt(exp) }
