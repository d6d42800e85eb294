-- Deletes a device index entry if it still holds the value the caller read.
-- KEYS[1]  pb:dev:{did}, the device index entry
-- ARGV[1]  the value it must hold, '<uid>:<slot>'
-- Returns 1 when deleted, 0 otherwise.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
