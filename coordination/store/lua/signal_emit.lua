-- Emit signals to one coordination's stream, idempotently by signal id, and settle what completions unblock.
-- KEYS: none (built through keys_lib)
-- ARGV: NS, CP, NOW, cid, max_history, ttl_ms, n, then per signal 10 values:
--   signal_id, type, sender, recipients_json, timestamp_iso, sent_at, data_json, meta_json,
--   completing_agents (space separated, '' if none), success ('1'|'0')
-- Returns {stream ids..., '|', settled dependency descriptors "cid/id/status/owner"..., '|',
--          queued agents "cid/agent/attempt/countdown_ms"...}
NS, CP, NOW = ARGV[1], ARGV[2], tonumber(ARGV[3])
local cid, ttl, n = ARGV[4], tonumber(ARGV[6]), tonumber(ARGV[7])
SIGNAL_HISTORY = tonumber(ARGV[5])

local out, settled, by_type = {}, {}, {}
for i = 0, n - 1 do
  local b = 8 + i * 10
  local values = {ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4], ARGV[b + 5], ARGV[b + 6], ARGV[b + 7]}
  local entry, new = signal_append(cid, values)
  out[#out + 1] = entry
  if new then
    by_type[values[2]] = (by_type[values[2]] or 0) + 1
    for agent in string.gmatch(ARGV[b + 8], '%S+') do
      agent_done(cid, agent, ARGV[b + 9] == '1', 'signal:' .. values[1], settled)
    end
  end
end
signal_count(cid, by_type)
redis.call('SADD', ns_key('coordinations'), cid)
if ttl > 0 then
  for _, suffix in ipairs({'signals', 'signal-ids', 'signal-order', 'signal-metrics', 'completed', 'failed'}) do
    redis.call('PEXPIRE', coord_key(cid, suffix), ttl)
  end
  redis.call('PEXPIRE', ns_key('coordinations'), ttl)
end
out[#out + 1] = '|'
for _, item in ipairs(settled) do out[#out + 1] = item end
out[#out + 1] = '|'
for _, item in ipairs(SENDS) do out[#out + 1] = item end
return out
