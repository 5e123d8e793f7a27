-- Emit signals to one coordination's stream, idempotently by signal id, and resolve what completions unblock.
-- KEYS: stream, ids (hash), order (list), metrics (hash), coordinations (set)
-- ARGV: NS, CP, NOW, cid, max_history, ttl_ms, n, then per signal 10 values:
--   signal_id, type, sender, recipients_json, timestamp_iso, sent_at, data_json, meta_json,
--   completing_agents (space separated, '' if none), success ('1'|'0')
-- Returns {stream ids..., '|', settled dependency descriptors "cid/id/status/owner"...}
NS, CP, NOW = ARGV[1], ARGV[2], tonumber(ARGV[3])
local stream, ids, order, metrics, coordinations = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local cid, max_history, ttl, n = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])

local out = {}
local ready = {}
local sent, by_type = 0, {}
local remembered = redis.call('LLEN', order)
for i = 0, n - 1 do
  local b = 8 + i * 10
  local signal_id, stype = ARGV[b], ARGV[b + 1]
  local existing = redis.call('HGET', ids, signal_id)
  if existing then
    out[#out + 1] = existing
  else
    local entry = redis.call('XADD', stream, 'MAXLEN', '~', max_history, '*',
      'id', signal_id, 'type', stype, 'sender', ARGV[b + 2], 'to', ARGV[b + 3], 'ts', ARGV[b + 4],
      'sent', ARGV[b + 5], 'data', ARGV[b + 6], 'meta', ARGV[b + 7])
    redis.call('HSET', ids, signal_id, entry)
    redis.call('RPUSH', order, signal_id)
    remembered = remembered + 1
    if remembered > max_history then
      redis.call('HDEL', ids, redis.call('LPOP', order))
      remembered = remembered - 1
    end
    sent = sent + 1
    by_type[stype] = (by_type[stype] or 0) + 1
    out[#out + 1] = entry
    local completing = ARGV[b + 8]
    if completing ~= '' then
      local set_name = 'completed'
      if ARGV[b + 9] ~= '1' then set_name = 'failed' end
      for agent in string.gmatch(completing, '%S+') do
        redis.call('SADD', coord_key(cid, set_name), agent)
        wake_waiters(coord_key(cid, 'waiters:agent:' .. agent), cid, 'signal:' .. signal_id, ready)
      end
    end
  end
end
-- Counters once per batch, not once per signal.
if sent > 0 then
  redis.call('HINCRBY', metrics, 'sent', sent)
  for stype, count in pairs(by_type) do
    redis.call('HINCRBY', metrics, 'type:' .. stype, count)
  end
end
redis.call('SADD', coordinations, cid)
if ttl > 0 then
  for _, key in ipairs({stream, ids, order, metrics, coord_key(cid, 'completed'), coord_key(cid, 'failed')}) do
    redis.call('PEXPIRE', key, ttl)
  end
  redis.call('PEXPIRE', coordinations, ttl)
end
out[#out + 1] = '|'
for _, item in ipairs(ready) do out[#out + 1] = item end
return out
