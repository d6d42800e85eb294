-- Marks two friends in range (for pre-approved shares and the nearby notices), keeping the
-- encounter a live mark already holds: the first update of an encounter names it (since), the
-- later ones only extend it (mark() in proximity.lua).
-- KEYS[1] the pair's mark, "<until>:<since>:<notified 0|1>"
-- ARGV[1] now (ms)
-- ARGV[2] since: when the encounter began, if this update begins it
-- ARGV[3] until: the end of the window this update sees
-- Returns {since, until, notified}: the encounter's, after this update.
local since, till, notified = mark(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
return { fmt(since), fmt(till), notified }
