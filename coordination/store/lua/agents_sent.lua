-- The messages of queued attempts were sent: beat looks at them again only after requeue_ms (a message lost in
-- the broker), not after the short grace of an attempt whose sender may have died before sending. Idempotent.
-- KEYS: none (built through keys_lib)
-- ARGV: NS, CP, NOW, requeue_ms, then per attempt: cid, agent, attempt
-- Returns how many were still queued (and were rescheduled).
NS, CP, NOW = ARGV[1], ARGV[2], tonumber(ARGV[3])
local requeue_ms, changed = tonumber(ARGV[4]), 0
for i = 5, #ARGV, 3 do
  local cid, agent, attempt = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local key = agent_key(cid, agent)
  local status = redis.call('HGET', key, 'status')
  if (status == 'queued' or status == 'retrying') and redis.call('HGET', key, 'attempt') == attempt then
    local queued = tonumber(redis.call('HGET', key, 'queued_ms') or '0')
    agent_due(cid, agent, math.max(queued, NOW) + requeue_ms)
    changed = changed + 1
  end
end
return changed
