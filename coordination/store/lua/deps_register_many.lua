-- Register several dependencies in one call, each as deps_register.lua does, in order (deps_lib:
-- dep_register_batch: an owner is counted for its whole list first; what the registrations share is written once),
-- and announce dependency_resolved in the same step when every one of them is resolved.
-- resolve_agent_dependencies registers its whole list at once: one script run costs the server far less than one
-- per dependency (every run sets up the libraries again), and a list that holds already takes one round trip.
-- KEYS: none (built through keys_lib)
-- ARGV: NS, CP, NOW, n, then per dependency the 13 values deps_register.lua takes from its ARGV[4] on; optionally
--       then the dependency_resolved signal as signal_emit.lua takes it from its ARGV[4] on (cid, max_history,
--       ttl_ms, 1, 10 values), stored only when every dependency is resolved
-- Returns {status, deadline_ms, ready_owner} per dependency, in order, then '|', then the queued agents
--         "cid/agent/attempt/countdown_ms"..., then '|', then the signal's stream entry id if it was stored
NS, CP, NOW = ARGV[1], ARGV[2], tonumber(ARGV[3])
local n = tonumber(ARGV[4])
local out = dep_register_batch(5, n)
local all_resolved = true
for i = 1, #out, 3 do
  if out[i] ~= 'resolved' then all_resolved = false end
end
out[#out + 1] = '|'
for _, item in ipairs(SENDS) do out[#out + 1] = item end
out[#out + 1] = '|'
local signal_at = 5 + 13 * n
if all_resolved and #ARGV >= signal_at then
  for _, entry in ipairs(signal_emit_batch(nil, signal_at - 4)) do out[#out + 1] = entry end
end
return out
