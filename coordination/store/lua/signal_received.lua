-- Record deliveries: count and emit-to-delivery propagation (sum, count, max) of one coordination.
-- KEYS: metrics (hash)   ARGV: count, sum_ms, max_ms
local metrics = KEYS[1]
redis.call('HINCRBY', metrics, 'received', tonumber(ARGV[1]))
redis.call('HINCRBYFLOAT', metrics, 'prop_sum', ARGV[2])
redis.call('HINCRBY', metrics, 'prop_n', tonumber(ARGV[1]))
local max = tonumber(redis.call('HGET', metrics, 'prop_max') or '0')
if tonumber(ARGV[3]) > max then redis.call('HSET', metrics, 'prop_max', ARGV[3]) end
return 1
