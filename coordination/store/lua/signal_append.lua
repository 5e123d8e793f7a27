-- Emit signals that complete no agent (signal_emit.lua without the dependency and agent libraries, for speed).
-- Unguarded: a resend after a lost reply finds every signal id already stored and returns the same entry ids,
-- and nothing else is decided here, so no reply needs keeping.
-- KEYS: none (built through keys_lib)
-- ARGV: as signal_emit.lua (completing_agents is '' for every signal)
-- Returns {stream ids..., '|', '|'} (signal_emit's shape, with nothing settled or queued)
NS, CP, NOW = ARGV[1], ARGV[2], tonumber(ARGV[3])
local out = signal_emit_batch(nil)
out[#out + 1] = '|'
out[#out + 1] = '|'
return out
