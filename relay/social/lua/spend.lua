-- A fixed-window budget of one user's (spend() in proximity.lua): "<start>:<used>:<end>", whose
-- key lives for the window from its start. The end is kept so that an export can tell when the
-- window ends. Atomic, so of concurrent spends only those that fit are counted, on any relay node.
-- KEYS[1]  pb:{uid}:lk (look-ups) or pb:{uid}:pu (presence updates)
-- ARGV[1]  count to spend
-- ARGV[2]  max per window
-- ARGV[3]  now (relay ms)
-- ARGV[4]  window (ms)
-- Returns 1 when counted, 0 (nothing counted) when over.
if spend(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])) then
  return 1
end
return 0
