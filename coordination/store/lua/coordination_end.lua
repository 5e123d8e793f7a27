-- End a running coordination now (a cancel, or beat finding it lost): agents that have not started are closed
-- with `agent_status`; running attempts finish, but nothing starts after them. Announced once.
-- KEYS: none (built through keys_lib)
-- ARGV: NS, CP, NOW, cid, final_status, reason, agent_status, history, then the coordination_finished signal's
--       8 values (its data is filled in here)
-- Returns {1, final, closed_agents, running_agents} when this call ended it, {0, current_status, {}, {}} otherwise.
NS, CP, NOW = ARGV[1], ARGV[2], tonumber(ARGV[3])
local cid, final, reason, agent_status = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
SIGNAL_HISTORY = tonumber(ARGV[8])
local status = meta_status(cid)
if status ~= 'running' then return {0, tostring(status), {}, {}} end
local closed, running = agents_close_unstarted(cid, agent_status, reason)
coordination_finish(cid, final, reason,
  {ARGV[9], ARGV[10], ARGV[11], ARGV[12], ARGV[13], ARGV[14], ARGV[15], ARGV[16]})
return {1, final, closed, running}
