-- The safety pull's probe (relay/connection/hub.ts): which of several mailboxes hold an entry
-- after a seq, for the connected users due this second, in one call instead of a fetch each.
-- An entry counts whatever its expiry or ack mask (the fetch that follows a '1' skips those and
-- moves the cursor past them).
-- KEYS[1..n] the order index q of each mailbox probed (keys.ts orderKey)
-- ARGV[1..n] for the mailbox of the same KEYS index, the seq after which an entry counts
-- Returns one character per probe: '1' when the mailbox holds an entry after that seq, else '0'.
local out = {}
for i = 1, #KEYS do
  local next = redis.call('ZRANGEBYSCORE', KEYS[i], '(' .. ARGV[i], '+inf', 'LIMIT', 0, 1)
  out[i] = #next > 0 and '1' or '0'
end
return table.concat(out)
