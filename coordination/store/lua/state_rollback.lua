-- Roll the state back to a version still covered by the change log, atomically.
-- Undone records are removed from the log, so version numbers stay unique after later writes.
-- KEYS: data, meta, log
-- ARGV: target_version, ttl_ms
-- Returns {status, current, oldest}: 1 = done; -1 = target out of range; -2 = history does not reach the target.
local data, meta, log = KEYS[1], KEYS[2], KEYS[3]
local target, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local current = tonumber(redis.call('HGET', meta, 'version') or '0')
if target < 0 or target >= current then
  return {-1, current, -1}
end

local undo = {}
local lowest = nil
local cursor = '+'
local done = false
while not done do
  local batch = redis.call('XREVRANGE', log, cursor, '-', 'COUNT', 200)
  if #batch == 0 then break end
  for _, entry in ipairs(batch) do
    local id, fields = entry[1], entry[2]
    local record = {}
    for i = 1, #fields, 2 do record[fields[i]] = fields[i + 1] end
    local v = tonumber(record['v'])
    if v <= target then done = true break end
    record['__id'] = id
    record['__fields'] = fields
    undo[#undo + 1] = record
    lowest = v
  end
  if not done then
    cursor = '(' .. batch[#batch][1]
  end
end

if lowest == nil or lowest ~= target + 1 then
  local oldest = lowest or -1
  return {-2, current, oldest}
end

-- Trimming removes the oldest entries, which may be only some of the records of the lowest version (one
-- record per key of an update); undoing the rest would produce a state that never existed.
local expected, seen = 1, 0
for _, record in ipairs(undo) do
  if tonumber(record['v']) == lowest then
    seen = seen + 1
    expected = tonumber(record['n'] or '1')
  end
end
if seen < expected then
  return {-2, current, lowest + 1}
end

-- Every check is done: from here on the script only writes.
for _, record in ipairs(undo) do
  if record['op'] == 'clear' and record['snap'] then
    -- [key, value, key, value, ...]: see state_write.lua
    local all = cjson.decode(record['snap'])
    for i = 1, #all, 2 do
      redis.call('HSET', data, all[i], all[i + 1])
    end
  elseif record['op'] == 'clear' then
    -- Records written before the snapshot field: one s:<key> field per key.
    local fields = record['__fields']
    for i = 1, #fields, 2 do
      local name = fields[i]
      if string.sub(name, 1, 2) == 's:' then
        redis.call('HSET', data, string.sub(name, 3), fields[i + 1])
      end
    end
  elseif record['old'] then
    redis.call('HSET', data, record['k'], record['old'])
  else
    redis.call('HDEL', data, record['k'])
  end
  redis.call('XDEL', log, record['__id'])
end

redis.call('HSET', meta, 'version', target)
if ttl > 0 then
  redis.call('PEXPIRE', data, ttl)
  redis.call('PEXPIRE', meta, ttl)
  redis.call('PEXPIRE', log, ttl)
end
return {1, target, lowest}
