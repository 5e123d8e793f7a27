-- Announce dependency_resolved when every dependency of one resolve_agent_dependencies call is resolved: it runs
-- in the same MULTI/EXEC, right after their registrations, so a call whose dependencies all hold already takes one
-- round trip. When one is not resolved nothing is written (the caller waits, then announces as it did before).
-- Unguarded: a resend finds the signal id stored and returns the same entry (signal_append.lua's reasoning).
-- KEYS: none (built through keys_lib)
-- ARGV: as signal_append.lua with one signal (NS, CP, NOW, cid, max_history, ttl_ms, 1, 10 values), then the
--       dependency ids
-- Returns {stream id, '|', '|'} when announced, {'|', '|'} when not (signal_emit's shape)
NS, CP, NOW = ARGV[1], ARGV[2], tonumber(ARGV[3])
local cid = ARGV[4]
for i = 8 + 10 * tonumber(ARGV[7]), #ARGV do
  if redis.call('HGET', dep_key(cid, ARGV[i]), 'status') ~= 'resolved' then return {'|', '|'} end
end
local out = signal_emit_batch(nil)
out[#out + 1] = '|'
out[#out + 1] = '|'
return out
