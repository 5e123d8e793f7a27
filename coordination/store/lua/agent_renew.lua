-- Renew the leases of the attempts one worker process runs (its heartbeat). Idempotent: a resend renews again.
-- KEYS: none (built through keys_lib)
-- ARGV: NS, CP, NOW, lease_ms, then per attempt: cid, agent, run_token
-- Returns one flag per attempt: 1 renewed, 0 the attempt is no longer this worker's (settled or taken over).
NS, CP, NOW = ARGV[1], ARGV[2], tonumber(ARGV[3])
local lease_ms = tonumber(ARGV[4])
local out = {}
for i = 5, #ARGV, 3 do
  local cid, agent, run = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local key = agent_key(cid, agent)
  if redis.call('HGET', key, 'status') == 'running' and redis.call('HGET', key, 'run') == run then
    redis.call('HSET', key, 'lease_ms', NOW + lease_ms)
    agent_due(cid, agent, NOW + lease_ms)
    limits_renew(cid, agent, NOW + lease_ms)
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
