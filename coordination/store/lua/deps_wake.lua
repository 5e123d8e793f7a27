-- Re-evaluate every dependency waiting for one resource or quality gate (after its value changed).
-- KEYS: none (built through keys_lib)
-- ARGV: NS, CP, NOW, kind ('resource'|'gate'), target, resolved_by
-- Returns {settled dependencies "cid/id/status/owner"..., '|', queued agents "cid/agent/attempt/countdown_ms"...}
NS, CP, NOW = ARGV[1], ARGV[2], tonumber(ARGV[3])
local settled = {}
wake_waiters(ns_key('waiters:' .. ARGV[4] .. ':' .. ARGV[5]), nil, ARGV[6], settled)
settled[#settled + 1] = '|'
for _, item in ipairs(SENDS) do settled[#settled + 1] = item end
return settled
