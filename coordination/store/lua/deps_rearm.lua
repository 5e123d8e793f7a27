-- Restart a timed-out dependency's clock (a RETRY decision after its time-out), at most max_retries times.
-- KEYS: none (built from prefixes)
-- ARGV: NS, CP, NOW, cid, id, max_rearms
-- Returns {1, deadline} when re-armed, {0, reason} otherwise.
local NS, CP, NOW = ARGV[1], ARGV[2], tonumber(ARGV[3])
local cid, id, max_rearms = ARGV[4], ARGV[5], tonumber(ARGV[6])
local key = CP .. '{' .. cid .. '}:dep:' .. id
local status = redis.call('HGET', key, 'status')
if status ~= 'timeout' then return {0, tostring(status)} end
local rearms = tonumber(redis.call('HGET', key, 'rearms') or '0')
if rearms >= max_rearms then return {0, 'no re-arms left'} end
local dtype, target = redis.call('HGET', key, 'type'), redis.call('HGET', key, 'target')
local deadline = NOW + tonumber(redis.call('HGET', key, 'timeout_ms'))
redis.call('HSET', key, 'status', 'pending', 'deadline_ms', deadline, 'rearms', rearms + 1, 'error', '')
redis.call('HDEL', key, 'resolved_ms', 'resolved_by')
local member = cid .. '/' .. id
if dtype == 'agent_completion' then
  redis.call('SADD', CP .. '{' .. cid .. '}:waiters:agent:' .. target, id)
elseif dtype == 'resource_availability' then
  redis.call('SADD', NS .. ':waiters:resource:' .. target, member)
else
  redis.call('SADD', NS .. ':waiters:gate:' .. target, member)
end
redis.call('ZADD', NS .. ':due', deadline, member)
return {1, tostring(deadline)}
