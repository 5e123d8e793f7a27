-- Register a dependency (idempotent) and settle it at once if its condition already holds.
-- KEYS: none (built through keys_lib)
-- ARGV: NS, CP, NOW, cid, id, type, target, owner, threshold, require_success, timeout_ms, check_ms,
--       metadata_json, ttl_ms, counted ('1' when the caller already counted it in agent-pending),
--       scope ('run' | 'global': whose resource or gate it reads)
-- Returns {status, deadline_ms, ready_owner, queued agents "cid/agent/attempt/countdown_ms"...}
NS, CP, NOW = ARGV[1], ARGV[2], tonumber(ARGV[3])
local cid, id, dtype, target, owner = ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local ttl = tonumber(ARGV[14])
local scope = ARGV[16]
local deadline, written = dep_write(cid, id, dtype, target, owner, ARGV[9], ARGV[10], tonumber(ARGV[11]),
  tonumber(ARGV[12]), ARGV[13], ARGV[15] == '1', scope)
local key = dep_key(cid, id)
if not written then
  return {redis.call('HGET', key, 'status'), tostring(deadline), ''}
end
if ttl > 0 then
  -- A private state's keys expire when idle: every key this registration wrote or extended.
  for _, written_key in ipairs({key, coord_key(cid, 'deps'), ns_key('coordinations'),
                                waiters_key(dtype, cid, target, scope), ns_key('due')}) do
    redis.call('PEXPIRE', written_key, ttl)
  end
  if owner ~= '' then
    redis.call('PEXPIRE', coord_key(cid, 'agent-pending'), ttl)
  end
end
local status, ready = dep_evaluate(read_record(key), 'registration')
local reply = {status, tostring(deadline), ready}
for _, item in ipairs(SENDS) do reply[#reply + 1] = item end
return reply
