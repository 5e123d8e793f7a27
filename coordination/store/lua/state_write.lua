-- One state operation, atomically: check the expected version, apply, bump the version, log the change.
-- KEYS: data, meta, log
-- ARGV: op (set|update|delete|clear), expected_version ('' = none), changed_by, ts_ms, max_history, ttl_ms,
--       then for set/update: field, json, field, json ...; for delete: field
-- Returns {status, version}: status 1 = applied, 0 = nothing to do (delete of an absent key), -1 = version conflict.
-- Every check comes before the first write, and no list of unbounded length is unpacked, so an operation on any
-- number of keys either happens completely or not at all.
local data, meta, log = KEYS[1], KEYS[2], KEYS[3]
local op, expected, by, ts = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local max_history, ttl = ARGV[5], tonumber(ARGV[6])

local current = tonumber(redis.call('HGET', meta, 'version') or '0')
if expected ~= '' and tonumber(expected) ~= current then
  return {-1, current}
end

local version = current + 1
local function append(fields)
  redis.call('XADD', log, 'MAXLEN', '~', max_history, '*', unpack(fields))
end

if op == 'delete' then
  local field = ARGV[7]
  local old = redis.call('HGET', data, field)
  if not old then
    return {0, current}
  end
  redis.call('HDEL', data, field)
  append({'v', version, 'op', 'delete', 'k', field, 'by', by, 'ts', ts, 'old', old})
elseif op == 'clear' then
  -- The old values travel in one field, 'snap', as a JSON array [key, value, key, value, ...] (values are the
  -- stored JSON texts): a record with one field per key would need unpack() of a list as long as the state,
  -- which Lua refuses beyond about 8,000 items. The record is written before the data is deleted, so a failure
  -- leaves the state as it was.
  local all = redis.call('HGETALL', data)
  local snapshot = '[]'
  if #all > 0 then
    snapshot = cjson.encode(all)
  end
  append({'v', version, 'op', 'clear', 'k', '__ALL__', 'by', by, 'ts', ts, 'snap', snapshot})
  redis.call('DEL', data)
else
  -- Each record of a batch carries the batch size, so rollback can tell when trimming cut into a version.
  local count = tostring((#ARGV - 6) / 2)
  for i = 7, #ARGV, 2 do
    local field, value = ARGV[i], ARGV[i + 1]
    local old = redis.call('HGET', data, field)
    redis.call('HSET', data, field, value)
    if old then
      append({'v', version, 'op', op, 'k', field, 'by', by, 'ts', ts, 'n', count, 'old', old, 'new', value})
    else
      append({'v', version, 'op', op, 'k', field, 'by', by, 'ts', ts, 'n', count, 'new', value})
    end
  end
end

redis.call('HSET', meta, 'version', version)
if ttl > 0 then
  redis.call('PEXPIRE', data, ttl)
  redis.call('PEXPIRE', meta, ttl)
  redis.call('PEXPIRE', log, ttl)
end
return {1, version}
