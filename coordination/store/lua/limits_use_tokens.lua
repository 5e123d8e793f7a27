-- Charge tokens an agent attempt used (run.use_tokens(n)) to the token limits of the agent's limit keys.
-- KEYS: none (built through keys_lib)
-- ARGV: NS, CP, NOW, cid, agent, n
-- Returns the limit keys whose token limit was charged (every limit key of the agent counts the tokens).
NS, CP, NOW = ARGV[1], ARGV[2], tonumber(ARGV[3])
return limits_use_tokens(ARGV[4], ARGV[5], tonumber(ARGV[6]))
