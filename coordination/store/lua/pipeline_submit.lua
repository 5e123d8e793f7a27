-- Create a pipeline coordination in one atomic step: records, contexts, dependencies, the coordination_started
-- signal, membership of the active set, and the first attempts of the agents that can start at once. Nothing is
-- written when the id exists; a failure leaves nothing half-written (the caller validated everything first, and
-- Redis stops a script for lack of memory only before its first write).
-- Agents that start by themselves are 'waiting' and counted open; branch targets are 'dormant' and counted only
-- when a branch wakes them, so a coordination can finish without them.
-- KEYS: none (built through keys_lib)
-- ARGV: NS, CP, NOW, spec_json, where spec_json holds:
--   cid, name, workflow (JSON text), input (JSON text), auto [agent ids], dormant [agent ids],
--   contexts [[agent id, context JSON text]...], history (signal stream cap), grace_ms,
--   deps [[id, type, target, owner, threshold, require_success, timeout_ms, check_ms, metadata_json, scope]...],
--   signal (the coordination_started signal's 8 values),
--   limits [[agent id, resolved limits JSON text]...] (agents with limits only; read by limits_lib)
-- Returns {'created', queued agents "cid/agent/attempt/countdown_ms"...} or {'exists'}.
NS, CP, NOW = ARGV[1], ARGV[2], tonumber(ARGV[3])
local spec = cjson.decode(ARGV[4])
local cid = spec['cid']
SIGNAL_HISTORY = tonumber(spec['history'])
GRACE_MS = tonumber(spec['grace_ms'])
local meta = coord_key(cid, 'meta')
if redis.call('EXISTS', meta) == 1 then return {'exists'} end

redis.call('SET', coord_key(cid, 'workflow'), spec['workflow'])
redis.call('SET', coord_key(cid, 'input'), spec['input'])
redis.call('HSET', meta, 'status', 'running', 'name', spec['name'], 'created_ms', NOW, 'open', #spec['auto'],
  'failures', 0, 'decisions', 0)
local agents = coord_key(cid, 'agents')
for _, id in ipairs(spec['auto']) do
  redis.call('RPUSH', agents, id)
  redis.call('HSET', agent_key(cid, id), 'status', 'waiting', 'attempt', 0)
end
for _, id in ipairs(spec['dormant']) do
  redis.call('RPUSH', agents, id)
  redis.call('HSET', agent_key(cid, id), 'status', 'dormant', 'attempt', 0)
end
for _, pair in ipairs(spec['limits'] or {}) do
  redis.call('HSET', agent_key(cid, pair[1]), 'limits', pair[2])
end

local contexts, order = coord_key(cid, 'contexts'), coord_key(cid, 'context-order')
for _, pair in ipairs(spec['contexts']) do
  redis.call('HSET', contexts, pair[1], pair[2])
  redis.call('RPUSH', order, pair[1])
end

-- Count every dependency of an agent before registering any, so no agent can look ready half-way.
local pending = {}
for _, d in ipairs(spec['deps']) do
  pending[d[4]] = (pending[d[4]] or 0) + 1
end
for owner, count in pairs(pending) do
  redis.call('HSET', coord_key(cid, 'agent-pending'), owner, count)
end
for _, d in ipairs(spec['deps']) do
  dep_write(cid, d[1], d[2], d[3], d[4], d[5], d[6], tonumber(d[7]), tonumber(d[8]), d[9], true, d[10])
end
redis.call('SADD', ns_key('coordinations'), cid)
signal_emit_one(cid, spec['signal'])
redis.call('SADD', ns_key('active'), cid)

-- Conditions that already hold (a global resource marked earlier, a global gate already scored) settle now and may
-- make an agent ready (agent_ready queues it); then every agent with nothing pending starts. (The coordination's
-- own resources and gates start unset.)
for _, d in ipairs(spec['deps']) do
  dep_evaluate(read_record(dep_key(cid, d[1])), 'registration')
end
local pending_key = coord_key(cid, 'agent-pending')
for _, id in ipairs(spec['auto']) do
  if tonumber(redis.call('HGET', pending_key, id) or '0') <= 0 then
    agent_ready(cid, id)
  end
end
local reply = {'created'}
for _, item in ipairs(SENDS) do reply[#reply + 1] = item end
return reply
