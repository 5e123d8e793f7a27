-- Register a dependency (idempotent) and settle it at once if its condition already holds.
-- ARGV: NS, CP, NOW, cid, id, type, target, owner, threshold, require_success, timeout_ms, check_ms,
--       metadata_json, ttl_ms, precounted ('1' when the caller already counted it in agent-pending)
-- Returns {status, deadline_ms, ready_owner}
NS, CP, NOW = ARGV[1], ARGV[2], tonumber(ARGV[3])
local cid, id, dtype, target, owner = ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local timeout_ms, check_ms, ttl = tonumber(ARGV[11]), tonumber(ARGV[12]), tonumber(ARGV[14])
local key = coord_key(cid, 'dep:' .. id)

local existing = read_record(key)
if existing ~= nil then
  return {existing['status'], existing['deadline_ms'], ''}
end

local deadline = NOW + timeout_ms
redis.call('HSET', key, 'id', id, 'cid', cid, 'type', dtype, 'target', target, 'owner', owner,
  'status', 'pending', 'threshold', ARGV[9], 'require_success', ARGV[10], 'registered_ms', NOW,
  'deadline_ms', deadline, 'timeout_ms', timeout_ms, 'check_ms', check_ms, 'metadata', ARGV[13])
redis.call('SADD', coord_key(cid, 'deps'), id)
redis.call('SADD', NS .. ':coordinations', cid)
if owner ~= '' and ARGV[15] ~= '1' then
  redis.call('HINCRBY', coord_key(cid, 'agent-pending'), owner, 1)
end
local member = cid .. '/' .. id
if dtype == 'agent_completion' then
  redis.call('SADD', waiters_key(dtype, cid, target), id)
else
  redis.call('SADD', waiters_key(dtype, cid, target), member)
end
local next_check = deadline
if dtype ~= 'agent_completion' and check_ms > 0 and NOW + check_ms < deadline then
  next_check = NOW + check_ms
end
redis.call('ZADD', NS .. ':due', next_check, member)
if ttl > 0 then
  -- A private state's keys expire when idle: every key this registration wrote or extended.
  for _, written in ipairs({key, coord_key(cid, 'deps'), NS .. ':coordinations', waiters_key(dtype, cid, target),
                            NS .. ':due'}) do
    redis.call('PEXPIRE', written, ttl)
  end
  if owner ~= '' then
    redis.call('PEXPIRE', coord_key(cid, 'agent-pending'), ttl)
  end
end

local status, ready = dep_evaluate(read_record(key), 'registration')
return {status, tostring(deadline), ready}
