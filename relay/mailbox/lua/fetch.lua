-- Reads a mailbox's live entries after a seq, for one device: the entries its slot acked are
-- skipped (their ack masks are read with the headers and contents, in the same HMGET).
-- KEYS[1..8] BOX_KEYS of the mailbox (mailbox.lua; e and q are read)
-- ARGV[1] afterSeq
-- ARGV[2] limit
-- ARGV[3] now (ms)
-- ARGV[4] the fetching device's slot
-- Returns {last, more ('1'|'0'), id1, header1, content1, id2, header2, content2, ...} with the
-- live entries among the first `limit` after afterSeq that the slot has not acked; headers as
-- stored (mailbox.lua parse), content '' when the entry has none (an old value's inline content
-- otherwise). last is the highest seq
-- examined, returned or skipped (expired, or acked by the slot).
local bx = box(1, '')
local after = ARGV[1]
local limit, now = tonumber(ARGV[2]), tonumber(ARGV[3])
local bit_s = bit.lshift(1, tonumber(ARGV[4]))
local ids = redis.call('ZRANGEBYSCORE', bx.q, '(' .. after, '+inf', 'LIMIT', 0, limit + 1)
local count = math.min(#ids, limit)
local out = { after, #ids > limit and '1' or '0' }
if count == 0 then
  return out
end
local fields = {}
for i = 1, count do
  fields[i] = ids[i]
  fields[count + i] = 'a:' .. ids[i]
  fields[2 * count + i] = content(ids[i])
end
local values = redis.call('HMGET', bx.e, unpack(fields))
for i = 1, count do
  local v = values[i]
  local _, seq, _, exp, _, inline = parse(v)
  out[1] = seq
  local mask = tonumber(values[count + i]) or 0
  if tonumber(exp) > now and bit.band(mask, bit_s) == 0 then
    out[#out + 1] = ids[i]
    out[#out + 1] = v
    out[#out + 1] = values[2 * count + i] or (inline and string.sub(v, inline)) or ''
  end
end
return out
