-- Admit one delivery of an agent message. A stale or duplicate delivery is refused; a redelivery of a running
-- attempt (same task id: its worker died) is admitted until it has been delivered more than max_deliveries times.
-- A second message for a running attempt (another task id) is a duplicate and is refused.
-- KEYS: meta, agent
-- ARGV: NOW, attempt, task_id, max_deliveries
-- Returns {verdict, detail}: verdict 'run' | 'stale' | 'duplicate' | 'exhausted' | 'cancelled'.
local meta, agent = KEYS[1], KEYS[2]
local now, attempt, task_id, max_deliveries = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local status = redis.call('HGET', agent, 'status')
local current = tonumber(redis.call('HGET', agent, 'attempt') or '0')
if attempt ~= current then return {'stale', tostring(status)} end
if status == 'queued' then
  if redis.call('HGET', meta, 'status') ~= 'running' then return {'cancelled', 'coordination ended'} end
  redis.call('HSET', agent, 'status', 'running', 'started_ms', now, 'task_id', task_id, 'deliveries', 1)
  return {'run', '1'}
elseif status == 'running' then
  if redis.call('HGET', agent, 'task_id') ~= task_id then return {'duplicate', 'running'} end
  local deliveries = redis.call('HINCRBY', agent, 'deliveries', 1)
  if deliveries > max_deliveries then return {'exhausted', tostring(deliveries)} end
  return {'run', tostring(deliveries)}
end
return {'duplicate', tostring(status)}
