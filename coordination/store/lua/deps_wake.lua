-- Re-evaluate every dependency waiting for one resource or quality gate (after its value changed).
-- ARGV: NS, CP, NOW, kind ('resource'|'gate'), target, resolved_by
-- Returns the settled dependencies as "cid/id/status/owner".
NS, CP, NOW = ARGV[1], ARGV[2], tonumber(ARGV[3])
local ready = {}
wake_waiters(NS .. ':waiters:' .. ARGV[4] .. ':' .. ARGV[5], nil, ARGV[6], ready)
return ready
