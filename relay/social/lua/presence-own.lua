-- One user's own part of a presence update (own_update() in proximity.lua), in the user's slot:
-- the per-slot path of a Cluster, where the friends' presence and the pairs' marks are other
-- slots, read and marked in calls of their own (relay/social/redis-proximity.ts).
-- KEYS[1]    pb:{uid}:pu, the presence slot
-- KEYS[2]    pb:{uid}:pr, the presence
-- ARGV[1]    now (relay ms)
-- ARGV[2]    the presence interval (ms); 0 takes no slot
-- ARGV[3]    the window (ms)
-- ARGV[4]    the jump check's limit (km/h)
-- ARGV[5]    the cell; '' for a blind update
-- ARGV[6]    the cell's centre: latitude (degrees, as text); '' for a blind update
-- ARGV[7]    its longitude
-- ARGV[8..n] the cells in range of the cell (gridDisk(cell, 1)); none for a blind update
-- Returns 'o' (stored), 'f' (too frequent) or 'j' (an implausible jump).
local disk = {}
for i = 8, #ARGV do
  disk[ARGV[i]] = true
end
return own_update(KEYS[1], KEYS[2], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]),
  tonumber(ARGV[4]), ARGV[5], ARGV[6], ARGV[7], disk)
