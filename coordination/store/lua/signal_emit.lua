-- Emit signals to one coordination's stream, idempotently by signal id, and settle what completions unblock.
-- KEYS: none (built through keys_lib)
-- ARGV: NS, CP, NOW, cid, max_history, ttl_ms, n, then per signal 10 values:
--   signal_id, type, sender, recipients_json, timestamp_iso, sent_at, data_json, meta_json,
--   completing_agents (space separated, '' if none), success ('1'|'0')
-- Returns {stream ids..., '|', settled dependency descriptors "cid/id/status/owner"..., '|',
--          queued agents "cid/agent/attempt/countdown_ms"...}
NS, CP, NOW = ARGV[1], ARGV[2], tonumber(ARGV[3])
local cid = ARGV[4]
local settled = {}
local out = signal_emit_batch(function(agent, success, cause) agent_done(cid, agent, success, cause, settled) end)
out[#out + 1] = '|'
for _, item in ipairs(settled) do out[#out + 1] = item end
out[#out + 1] = '|'
for _, item in ipairs(SENDS) do out[#out + 1] = item end
return out
