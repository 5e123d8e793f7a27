-- Extend a lock only if this holder still owns it (a long run keeps its lock; it never overlaps another run).
-- KEYS: lock   ARGV: token, ttl_ms
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
