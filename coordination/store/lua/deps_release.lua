-- Let the agent held back by a timed-out or rejected dependency run anyway (a declared on_timeout/on_reject
-- 'continue'): the dependency keeps its status and is marked released, and no longer counts against its agent;
-- when it was the agent's last pending dependency the agent's first attempt is queued. Once only.
-- KEYS: none (built through keys_lib)
-- ARGV: NS, CP, NOW, cid, id, grace_ms
-- Returns {'released', queued agents "cid/agent/attempt/countdown_ms"...} or {'no', why}.
NS, CP, NOW = ARGV[1], ARGV[2], tonumber(ARGV[3])
local cid, id = ARGV[4], ARGV[5]
GRACE_MS = tonumber(ARGV[6])
local rec = read_record(dep_key(cid, id))
if rec == nil then return {'no', 'unknown'} end
if rec['status'] ~= 'timeout' and rec['status'] ~= 'failed' then return {'no', rec['status']} end
if rec['released'] == '1' then return {'no', 'released'} end
redis.call('HSET', dep_key(cid, id), 'released', '1')
redis.call('ZREM', ns_key('due'), cid .. '/' .. id)
local owner = rec['owner'] or ''
if owner ~= '' then
  local left = redis.call('HINCRBY', coord_key(cid, 'agent-pending'), owner, -1)
  if left <= 0 then agent_ready(cid, owner) end
end
local reply = {'released'}
for _, item in ipairs(SENDS) do reply[#reply + 1] = item end
return reply
