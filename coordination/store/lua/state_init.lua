-- Seed a state with initial values if, and only if, it does not exist yet. Version stays 0; nothing is logged.
-- KEYS: data, meta
-- ARGV: ttl_ms, field, json, field, json ...
-- Returns 1 if the values were written, 0 if the state already existed.
local data, meta, ttl = KEYS[1], KEYS[2], tonumber(ARGV[1])
if redis.call('EXISTS', meta) == 1 or redis.call('EXISTS', data) == 1 then
  return 0
end
for i = 2, #ARGV, 2 do
  redis.call('HSET', data, ARGV[i], ARGV[i + 1])
end
redis.call('HSET', meta, 'version', 0)
if ttl > 0 then
  redis.call('PEXPIRE', data, ttl)
  redis.call('PEXPIRE', meta, ttl)
end
return 1
