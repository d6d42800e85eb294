-- Reads a mailbox's live entries after a seq.
-- KEYS[1..7] BOX_KEYS of the mailbox (mailbox.lua; e and q are read)
-- ARGV[1] afterSeq
-- ARGV[2] limit
-- ARGV[3] now (ms)
-- Returns {last, more ('1'|'0'), id1, value1, id2, value2, ...} with the live entries among the
-- first `limit` after afterSeq; values as stored (mailbox.lua parse), bodies included. last is
-- the highest seq examined, returned or skipped as expired.
local bx = box(1, '')
local after = ARGV[1]
local limit, now = tonumber(ARGV[2]), tonumber(ARGV[3])
local ids = redis.call('ZRANGEBYSCORE', bx.q, '(' .. after, '+inf', 'LIMIT', 0, limit + 1)
local count = math.min(#ids, limit)
local out = { after, #ids > limit and '1' or '0' }
if count == 0 then
  return out
end
local values = redis.call('HMGET', bx.e, unpack(ids, 1, count))
for i = 1, count do
  local v = values[i]
  local _, seq, _, exp = parse(v)
  out[1] = seq
  if tonumber(exp) > now then
    out[#out + 1] = ids[i]
    out[#out + 1] = v
  end
end
return out
