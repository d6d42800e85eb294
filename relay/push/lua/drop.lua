-- Removes a device's registration if it is still the one the caller read (the push service said
-- it is gone; one made meanwhile stays).
-- KEYS[1]  pb:{uid}:push, the registrations: slot -> JSON
-- ARGV[1]  the device's slot
-- ARGV[2]  the registration it must hold
-- Returns 1 when removed, 0 otherwise.
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
