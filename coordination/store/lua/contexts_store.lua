-- Store agents' contexts: each agent's context replaces its earlier one; an agent new to the coordination is
-- appended to the distribution order. Other agents' contexts are kept (distributing in batches accumulates).
-- KEYS: contexts (hash), order (list), coordinations (set)
-- ARGV: ttl_ms, cid, agent_id, json, agent_id, json, ...
local contexts, order, registry = KEYS[1], KEYS[2], KEYS[3]
local ttl = tonumber(ARGV[1])
for i = 3, #ARGV, 2 do
  if redis.call('HEXISTS', contexts, ARGV[i]) == 0 then
    redis.call('RPUSH', order, ARGV[i])
  end
  redis.call('HSET', contexts, ARGV[i], ARGV[i + 1])
end
redis.call('SADD', registry, ARGV[2])
if ttl > 0 then
  redis.call('PEXPIRE', contexts, ttl)
  redis.call('PEXPIRE', order, ttl)
  redis.call('PEXPIRE', registry, ttl)
end
return #ARGV / 2 - 1
