-- Set one coordination's own resource availability or quality-gate score, and settle at once that coordination's
-- dependencies waiting on it (scope 'run'). Refused, with nothing written, for a coordination that does not exist
-- or has finished, and when the coordination declares this resource or gate `scope: global` (it must then be set
-- for the namespace, where its dependencies read it).
-- KEYS: none (built through keys_lib)
-- ARGV: NS, CP, NOW, cid, kind ('resource'|'gate'), target, value (JSON text), set_by, grace_ms
-- Returns {'set', settled "cid/id/status/owner"..., '|', queued "cid/agent/attempt/countdown_ms"...}, or
-- {'unknown'}, {'finished', status}, {'global', dependency id}.
NS, CP, NOW = ARGV[1], ARGV[2], tonumber(ARGV[3])
local cid, kind, target, value, by = ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
GRACE_MS = tonumber(ARGV[9])
local status = meta_status(cid)
local deps = coord_key(cid, 'deps')
if not status and redis.call('EXISTS', deps) == 0 then return {'unknown'} end
if status and status ~= 'running' then return {'finished', status} end
local rtype = 'quality_gate'
local field = gate_field(target)
if kind == 'resource' then
  rtype = 'resource_availability'
  field = resource_field(target)
end
for _, id in ipairs(redis.call('SMEMBERS', deps)) do
  local dtype, dtarget, scope = unpack(redis.call('HMGET', dep_key(cid, id), 'type', 'target', 'scope'))
  if dtype == rtype and dtarget == target and scope ~= 'run' then return {'global', id} end
end
redis.call('HSET', coord_key(cid, 'conditions'), field, value)
local settled = {'set'}
wake_waiters(waiters_key(rtype, cid, target, 'run'), cid, by, settled)
settled[#settled + 1] = '|'
for _, item in ipairs(SENDS) do settled[#settled + 1] = item end
return settled
