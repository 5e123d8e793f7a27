-- Register a dependency (idempotent) and settle it at once if its condition already holds (deps_lib: dep_register).
-- KEYS: none (built through keys_lib)
-- ARGV: NS, CP, NOW, cid, id, type, target, owner, threshold, require_success, timeout_ms, check_ms,
--       metadata_json, ttl_ms, counted ('1' when the caller already counted it in agent-pending),
--       scope ('run' | 'global': whose resource or gate it reads)
-- Returns {status, deadline_ms, ready_owner, queued agents "cid/agent/attempt/countdown_ms"...}
NS, CP, NOW = ARGV[1], ARGV[2], tonumber(ARGV[3])
local status, deadline, ready = dep_register(4)
local reply = {status, deadline, ready}
for _, item in ipairs(SENDS) do reply[#reply + 1] = item end
return reply
