-- Create a pipeline coordination's records (fails if the id exists).
-- Agents that start by themselves are 'waiting' and counted open; branch targets are 'dormant' and counted only
-- when a branch wakes them, so a coordination can finish without them.
-- KEYS: workflow, input, meta, agents (list), active (set)
-- ARGV: NOW, cid, name, workflow_json, input_json, agent_prefix, n_auto, auto agent ids..., dormant agent ids...
-- Returns 1 when created, 0 when the coordination already existed.
local workflow, input, meta, agents, active = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local now, cid, name, prefix, n_auto = ARGV[1], ARGV[2], ARGV[3], ARGV[6], tonumber(ARGV[7])
if redis.call('EXISTS', meta) == 1 then return 0 end
redis.call('SET', workflow, ARGV[4])
redis.call('SET', input, ARGV[5])
redis.call('HSET', meta, 'status', 'running', 'name', name, 'created_ms', now, 'open', n_auto,
  'failures', 0, 'decisions', 0)
for i = 8, #ARGV do
  local status = 'waiting'
  if i - 7 > n_auto then status = 'dormant' end
  redis.call('RPUSH', agents, ARGV[i])
  redis.call('HSET', prefix .. ARGV[i], 'status', status, 'attempt', 0)
end
redis.call('SADD', active, cid)
return 1
