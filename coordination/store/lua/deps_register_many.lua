-- Register several dependencies in one call, each as deps_register.lua does, in order (deps_lib:
-- dep_register_batch: an owner is counted for its whole list first; what the registrations share is written once).
-- resolve_agent_dependencies registers its whole list at once: one script run costs the server far less than one
-- per dependency (every run sets up the libraries again).
-- KEYS: none (built through keys_lib)
-- ARGV: NS, CP, NOW, n, then per dependency the 13 values deps_register.lua takes from its ARGV[4] on
-- Returns {status, deadline_ms, ready_owner} per dependency, in order, then '|', then the queued agents
--         "cid/agent/attempt/countdown_ms"...
NS, CP, NOW = ARGV[1], ARGV[2], tonumber(ARGV[3])
local out = dep_register_batch(5, tonumber(ARGV[4]))
out[#out + 1] = '|'
for _, item in ipairs(SENDS) do out[#out + 1] = item end
return out
