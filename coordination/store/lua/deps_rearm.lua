-- Restart a timed-out dependency's clock (a RETRY decision after its time-out), at most max_retries times.
-- KEYS: none (built through keys_lib)
-- ARGV: NS, CP, NOW, cid, id, max_rearms
-- Returns {1, deadline} when re-armed, {0, reason} otherwise.
NS, CP, NOW = ARGV[1], ARGV[2], tonumber(ARGV[3])
local cid, id, max_rearms = ARGV[4], ARGV[5], tonumber(ARGV[6])
local key = dep_key(cid, id)
local status = redis.call('HGET', key, 'status')
if status ~= 'timeout' then return {0, tostring(status)} end
local rearms = tonumber(redis.call('HGET', key, 'rearms') or '0')
if rearms >= max_rearms then return {0, 'no re-arms left'} end
local dtype, target, scope = unpack(redis.call('HMGET', key, 'type', 'target', 'scope'))
local deadline = NOW + tonumber(redis.call('HGET', key, 'timeout_ms'))
redis.call('HSET', key, 'status', 'pending', 'deadline_ms', deadline, 'rearms', rearms + 1, 'error', '')
redis.call('HDEL', key, 'resolved_ms', 'resolved_by')
redis.call('SADD', waiters_key(dtype, cid, target, scope), waiter_member(dtype, cid, id, scope))
due_add(deadline, cid, id)
return {1, tostring(deadline)}
