-- Register several dependencies in one call, each exactly as deps_register.lua does (idempotent; settled at once
-- when its condition already holds), in order. resolve_agent_dependencies registers its whole list at once: one
-- script run costs the server far less than one per dependency (every run sets up the libraries again).
-- KEYS: none (built through keys_lib)
-- ARGV: NS, CP, NOW, n, then per dependency the 13 values deps_register.lua takes from its ARGV[4] on:
--       cid, id, type, target, owner, threshold, require_success, timeout_ms, check_ms, metadata_json, ttl_ms,
--       counted ('1' | '0'), scope ('run' | 'global')
-- Returns {status, deadline_ms, ready_owner} per dependency, in order, then '|', then the queued agents
--         "cid/agent/attempt/countdown_ms"...
NS, CP, NOW = ARGV[1], ARGV[2], tonumber(ARGV[3])
local out = {}
for i = 0, tonumber(ARGV[4]) - 1 do
  local b = 5 + i * 13
  local cid, id, dtype, target, owner = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4]
  local ttl, scope = tonumber(ARGV[b + 10]), ARGV[b + 12]
  local deadline, written = dep_write(cid, id, dtype, target, owner, ARGV[b + 5], ARGV[b + 6], tonumber(ARGV[b + 7]),
    tonumber(ARGV[b + 8]), ARGV[b + 9], ARGV[b + 11] == '1', scope)
  local key = dep_key(cid, id)
  if not written then
    out[#out + 1] = redis.call('HGET', key, 'status')
    out[#out + 1] = tostring(deadline)
    out[#out + 1] = ''
  else
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
    out[#out + 1] = status
    out[#out + 1] = tostring(deadline)
    out[#out + 1] = ready
  end
end
out[#out + 1] = '|'
for _, item in ipairs(SENDS) do out[#out + 1] = item end
return out
