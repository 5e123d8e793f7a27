-- Beat's repair of one agent that came due in the agents-due set: re-send an attempt whose message may be lost,
-- take over an attempt whose lease expired (its worker died), close what an ended coordination left behind.
-- KEYS: none (built through keys_lib)
-- ARGV: NS, CP, NOW, cid, agent, requeue_ms, max_takeovers, lease_ms, run_token (used when exhausted), grace_ms
--       (COORD_DISPATCH_GRACE_SECONDS: a re-queued attempt whose re-send is lost is due again after it)
-- Returns {action, attempt}: action 'resend' (send the attempt again), 'exhausted' (record the attempt as failed:
-- the lease is now held by run_token), 'alive', 'closed', 'none'.
NS, CP, NOW = ARGV[1], ARGV[2], tonumber(ARGV[3])
local cid, agent = ARGV[4], ARGV[5]
local requeue_ms, max_takeovers, lease_ms = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
GRACE_MS = tonumber(ARGV[10])
local key = agent_key(cid, agent)
local status = redis.call('HGET', key, 'status')
local coordination = meta_status(cid)
local attempt = redis.call('HGET', key, 'attempt') or '0'
if not status or not coordination then
  agent_not_due(cid, agent)
  return {'none', attempt}
end
if status == 'queued' or status == 'retrying' then
  if coordination ~= 'running' then
    agent_not_due(cid, agent)
    limits_release(cid, agent)
    return {'none', attempt}
  end
  agent_due(cid, agent, NOW + requeue_ms)
  limits_resent(cid, agent)
  return {'resend', attempt}
end
if status ~= 'running' then
  agent_not_due(cid, agent)
  return {'none', attempt}
end
local lease = tonumber(redis.call('HGET', key, 'lease_ms') or '0')
if lease > NOW then
  agent_due(cid, agent, lease)
  return {'alive', attempt}
end
if coordination ~= 'running' then
  -- Its worker is gone and the coordination has ended: nothing will settle it any more.
  local closed = 'skipped'
  if coordination == 'cancelled' then closed = 'cancelled' end
  redis.call('HSET', key, 'status', closed, 'finished_ms', NOW, 'error',
    'its worker was lost after the coordination ended (' .. coordination .. ')')
  redis.call('HINCRBY', coord_key(cid, 'meta'), 'open', -1)
  agent_not_due(cid, agent)
  limits_release(cid, agent)
  return {'closed', attempt}
end
local takeovers = redis.call('HINCRBY', key, 'takeovers', 1)
if takeovers > max_takeovers then
  redis.call('HSET', key, 'run', ARGV[9], 'lease_ms', NOW + lease_ms)
  agent_due(cid, agent, NOW + lease_ms)
  return {'exhausted', attempt}
end
limits_release(cid, agent)  -- its worker is gone: the re-sent attempt takes its limits again when it starts
agent_queue(cid, agent, tonumber(attempt), 0)
return {'resend', attempt}
