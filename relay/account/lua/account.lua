-- Helpers of the account scripts (relay/redis/lua.ts puts this file after common.lua): the
-- device registry's record format (relay/account/records.ts reads the same) and its live mask.
local SLOTS = 16

-- 's<slot>' -> '<did>:<created>:<seen>:<state>': did, created, seen, state ('l' | 'p').
local function record(v)
  if not v then
    return nil
  end
  local did, created, seen, state = string.match(v, '^([^:]+):(%d+):(%d+):([lp])$')
  return did, tonumber(created), tonumber(seen), state
end

local function pack(did, created, seen, state)
  return did .. ':' .. fmt(created) .. ':' .. fmt(seen) .. ':' .. state
end

local function live(mask, slot)
  return bit.band(mask, bit.lshift(1, slot)) ~= 0
end

local function popcount(mask)
  local n = 0
  while mask > 0 do
    n = n + bit.band(mask, 1)
    mask = bit.rshift(mask, 1)
  end
  return n
end

-- The records of every slot: HMGET s0..s15 of the registry `key`, indexed by slot + 1.
local function records(key)
  local fields = {}
  for s = 0, SLOTS - 1 do
    fields[#fields + 1] = 's' .. s
  end
  return redis.call('HMGET', key, unpack(fields))
end

-- The slot whose record holds `did`, or nil.
local function slot_of(recs, did)
  for s = 0, SLOTS - 1 do
    if record(recs[s + 1]) == did then
      return s
    end
  end
  return nil
end

-- Frees `slot` of the registry `key` whose live mask is `mask`: record, box, mask bit; INCR v.
local function free_slot(key, mask, slot)
  redis.call('HDEL', key, 's' .. slot, 'b' .. slot)
  redis.call('HSET', key, 'm', fmt(bit.band(mask, bit.bnot(bit.lshift(1, slot)))))
  redis.call('HINCRBY', key, 'v', 1)
  return bit.band(mask, bit.bnot(bit.lshift(1, slot)))
end
