-- Answers an offer waiting in a mailbox: accept releases its held parts as messages, reject
-- deletes them; either way the offer leaves the mailbox.
-- KEYS[1..8] BOX_KEYS of the mailbox (mailbox.lua)
-- ARGV[1] uid
-- ARGV[2] the offer's entry id m:<from>:<mid>
-- ARGV[3] accept ('1'|'0')
-- ARGV[4] now (ms)
-- Returns {'accepted' | 'rejected' | 'unknown' (no offer waits under that id), note?}: the note
-- is the receipt to file for the sender (mailbox.lua note_receipt; receipts.lua files it).
local bx = box(1, ARGV[1])
local id, now = ARGV[2], tonumber(ARGV[4])
local v = redis.call('HGET', bx.e, id)
local flag = v and string.sub(v, 1, 1)
if flag ~= 'o' and flag ~= 'O' then
  return { 'unknown' }
end
local from, oid = string.match(id, '^m:([^:]+):(.+)$')
if ARGV[3] == '1' then
  release(bx, from, oid)
  remove(bx, id)
  if flag == 'O' then
    return { 'accepted', note_receipt(bx, id, 'd', now) }
  end
  return { 'accepted' }
end
drop_group(bx, from, oid)
remove(bx, id)
return { 'rejected', note_receipt(bx, id, 'j', now) }
