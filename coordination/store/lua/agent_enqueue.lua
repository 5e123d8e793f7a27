-- Decide whether an agent message may be sent, and record it as queued. Only one caller wins each transition,
-- so an agent is never enqueued twice for the same reason.
-- KEYS: meta, agent
-- ARGV: NOW, mode ('ready' | 'branch' | 'retry' | 'requeue'), attempt (retry: the new attempt), requeue_after_ms
-- 'branch' also wakes a dormant branch target (and counts it open).
-- Returns {1, attempt} when the caller must send the message, {0, reason} otherwise.
local meta, agent = KEYS[1], KEYS[2]
local now, mode = tonumber(ARGV[1]), ARGV[2]
local coordination = redis.call('HGET', meta, 'status')
if coordination ~= 'running' then return {0, 'coordination ' .. tostring(coordination)} end
local status = redis.call('HGET', agent, 'status')
local current = tonumber(redis.call('HGET', agent, 'attempt') or '0')
if mode == 'ready' or mode == 'branch' then
  if status == 'dormant' and mode == 'branch' then
    redis.call('HINCRBY', meta, 'open', 1)
  elseif status ~= 'waiting' then
    return {0, tostring(status)}
  end
  redis.call('HSET', agent, 'status', 'queued', 'attempt', 1, 'queued_ms', now)
  return {1, 1}
elseif mode == 'retry' then
  local attempt = tonumber(ARGV[3])
  if status ~= 'retrying' or attempt ~= current + 1 then return {0, tostring(status)} end
  redis.call('HSET', agent, 'status', 'queued', 'attempt', attempt, 'queued_ms', now)
  return {1, attempt}
elseif mode == 'requeue' then
  local queued = tonumber(redis.call('HGET', agent, 'queued_ms') or '0')
  if status ~= 'queued' or now - queued < tonumber(ARGV[4]) then return {0, tostring(status)} end
  redis.call('HSET', agent, 'queued_ms', now)
  return {1, current}
end
return redis.error_reply('unknown mode ' .. mode)
