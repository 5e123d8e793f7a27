-- Record an agent's outcome once: the first caller wins, later ones (duplicates, redeliveries) are told so.
-- Terminal outcomes close the agent; when no agent is left open, the coordination finishes.
-- KEYS: meta, agent, active, finished
-- ARGV: NOW, cid, mode ('finish': the running attempt ends | 'mark': a waiting or queued agent is settled),
--       attempt, outcome (completed|failed|skipped|timed_out|retrying), result_json, quality, error, decision,
--       routing_stream, routing_cap, n_routing, then per routing entry: routing_id, ts, task, decision, strategy,
--       record (the routing decisions of this attempt, written only when this call wins)
-- Returns {'first', coordination_final_status_or_empty, coordination_status} or
-- {'duplicate', current_agent_status, coordination_status}; coordination_status is the meta status after the call.
local meta, agent, active, finished = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now, cid, mode, attempt, outcome = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local status = redis.call('HGET', agent, 'status')
local current = tonumber(redis.call('HGET', agent, 'attempt') or '0')
if mode == 'finish' then
  if status ~= 'running' or attempt ~= current then
    return {'duplicate', tostring(status), tostring(redis.call('HGET', meta, 'status'))}
  end
elseif status ~= 'waiting' and status ~= 'queued' then
  return {'duplicate', tostring(status), tostring(redis.call('HGET', meta, 'status'))}
end
redis.call('HSET', agent, 'status', outcome, 'finished_ms', now, 'error', ARGV[8], 'decision', ARGV[9])
local n_routing = tonumber(ARGV[12] or '0')
for i = 0, n_routing - 1 do
  local b = 13 + i * 6
  redis.call('XADD', ARGV[10], 'MAXLEN', '~', ARGV[11], '*', 'routing_id', ARGV[b], 'ts', ARGV[b + 1],
    'task', ARGV[b + 2], 'decision', ARGV[b + 3], 'strategy', ARGV[b + 4], 'record', ARGV[b + 5])
end
if ARGV[6] ~= '' then
  redis.call('HSET', agent, 'result', ARGV[6])
end
if ARGV[7] ~= '' then
  redis.call('HSET', agent, 'quality', ARGV[7])
end
if ARGV[9] ~= '' then
  redis.call('HINCRBY', meta, 'decisions', 1)
end
local final = ''
if outcome ~= 'retrying' then
  local open = redis.call('HINCRBY', meta, 'open', -1)
  if outcome == 'failed' or outcome == 'timed_out' then
    redis.call('HINCRBY', meta, 'failures', 1)
  end
  if open <= 0 and redis.call('HGET', meta, 'status') == 'running' then
    final = 'completed'
    if tonumber(redis.call('HGET', meta, 'failures')) > 0 then final = 'failed' end
    redis.call('HSET', meta, 'status', final, 'finished_ms', now)
    redis.call('SREM', active, cid)
    redis.call('ZADD', finished, now, cid)
  end
end
return {'first', final, tostring(redis.call('HGET', meta, 'status'))}
