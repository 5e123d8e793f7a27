-- Shared dependency logic (needs keys_lib and agent_lib before it).
-- A dependency record is a hash at dep_key(cid, id) with fields:
--   id, cid, type (agent_completion|resource_availability|quality_gate), target, owner, status
--   (pending|resolved|failed|timeout), threshold, require_success, registered_ms, deadline_ms, timeout_ms,
--   check_ms, resolved_ms, resolved_by, error, metadata (JSON), rearms
-- A dependency is a member "cid/id" of the namespace due-set (next check or deadline) and of its target's waiter
-- set (agent waiter sets, per coordination, hold the bare id).

local function truthy_json(raw)
  if not raw then return false end
  if raw == 'true' then return true end
  local n = tonumber(raw)
  return n ~= nil and n ~= 0
end

-- 'yes' when satisfied, 'failed' when it never can be, 'no' otherwise.
local function dep_condition(rec)
  local rtype, cid, target = rec['type'], rec['cid'], rec['target']
  if rtype == 'agent_completion' then
    if redis.call('SISMEMBER', coord_key(cid, 'completed'), target) == 1 then return 'yes' end
    if redis.call('SISMEMBER', coord_key(cid, 'failed'), target) == 1 then
      if rec['require_success'] == '0' then return 'yes' end
      return 'failed'
    end
    return 'no'
  elseif rtype == 'resource_availability' then
    if truthy_json(redis.call('HGET', ns_key('state:data'), resource_field(target))) then return 'yes' end
    return 'no'
  end
  local score = tonumber(redis.call('HGET', ns_key('state:data'), gate_field(target)) or '')
  if score ~= nil and score >= tonumber(rec['threshold']) then return 'yes' end
  return 'no'
end

local function read_record(key)
  local flat = redis.call('HGETALL', key)
  if #flat == 0 then return nil end
  local rec = {}
  for i = 1, #flat, 2 do rec[flat[i]] = flat[i + 1] end
  return rec
end

-- Settle a pending dependency with a final status; returns the owner agent if it has no pending dependency
-- left (it became ready, and is queued if it belongs to a running pipeline coordination), '' otherwise.
-- Announces the change on the namespace's channel.
local function dep_settle(rec, status, by, error_message)
  local cid, id = rec['cid'], rec['id']
  redis.call('HSET', dep_key(cid, id), 'status', status, 'resolved_ms', NOW, 'resolved_by', by, 'error', error_message)
  local member = cid .. '/' .. id
  if rec['type'] == 'agent_completion' then
    redis.call('SREM', waiters_key(rec['type'], cid, rec['target']), id)
  else
    redis.call('SREM', waiters_key(rec['type'], cid, rec['target']), member)
  end
  redis.call('ZREM', ns_key('due'), member)
  redis.call('PUBLISH', ns_key('dep-events'), member .. '/' .. status)
  local owner = rec['owner'] or ''
  if owner ~= '' and status == 'resolved' then
    local left = redis.call('HINCRBY', coord_key(cid, 'agent-pending'), owner, -1)
    if left <= 0 then
      agent_ready(cid, owner)
      return owner
    end
  end
  return ''
end

-- Evaluate and settle one dependency if its condition is now decided. Returns status, ready_owner.
local function dep_evaluate(rec, by)
  if rec['status'] ~= 'pending' then return rec['status'], '' end
  local verdict = dep_condition(rec)
  if verdict == 'yes' then
    return 'resolved', dep_settle(rec, 'resolved', by, '')
  elseif verdict == 'failed' then
    return 'failed', dep_settle(rec, 'failed', by, 'agent ' .. rec['target'] .. ' completed with an error')
  end
  return 'pending', ''
end

-- Evaluate every dependency waiting in one waiter set (members are "cid/id" or, for agent sets, "id").
-- Appends "cid/id/status/owner" descriptors of the settled ones to `settled`.
local function wake_waiters(set_key, cid_of_set, by, settled)
  for _, member in ipairs(redis.call('SMEMBERS', set_key)) do
    local cid, id = cid_of_set, member
    if cid == nil then
      local slash = string.find(member, '/', 1, true)
      cid, id = string.sub(member, 1, slash - 1), string.sub(member, slash + 1)
    end
    local rec = read_record(dep_key(cid, id))
    if rec == nil then
      redis.call('SREM', set_key, member)
    else
      local status, owner = dep_evaluate(rec, by)
      if status ~= 'pending' then
        settled[#settled + 1] = cid .. '/' .. id .. '/' .. status .. '/' .. owner
      end
    end
  end
end

-- An agent finished (completed or skipped: success; failed: not): record it and settle whoever waits for it.
local function agent_done(cid, agent, success, by, settled)
  local set_name = 'completed'
  if not success then set_name = 'failed' end
  redis.call('SADD', coord_key(cid, set_name), agent)
  wake_waiters(coord_key(cid, 'waiters:agent:' .. agent), cid, by, settled)
end

-- Write a dependency's record and index entries (nothing if it exists). Returns the record's deadline, and
-- whether it was written. `counted`: the caller already counted it in the owner's pending count.
local function dep_write(cid, id, dtype, target, owner, threshold, require_success, timeout_ms, check_ms, metadata,
                         counted)
  local key = dep_key(cid, id)
  local existing = redis.call('HGET', key, 'deadline_ms')
  if existing then return tonumber(existing), false end
  local deadline = NOW + timeout_ms
  redis.call('HSET', key, 'id', id, 'cid', cid, 'type', dtype, 'target', target, 'owner', owner,
    'status', 'pending', 'threshold', threshold, 'require_success', require_success, 'registered_ms', NOW,
    'deadline_ms', deadline, 'timeout_ms', timeout_ms, 'check_ms', check_ms, 'metadata', metadata)
  redis.call('SADD', coord_key(cid, 'deps'), id)
  redis.call('SADD', ns_key('coordinations'), cid)
  if owner ~= '' and not counted then
    redis.call('HINCRBY', coord_key(cid, 'agent-pending'), owner, 1)
  end
  local member = cid .. '/' .. id
  if dtype == 'agent_completion' then
    redis.call('SADD', waiters_key(dtype, cid, target), id)
  else
    redis.call('SADD', waiters_key(dtype, cid, target), member)
  end
  local next_check = deadline
  if dtype ~= 'agent_completion' and check_ms > 0 and NOW + check_ms < deadline then
    next_check = NOW + check_ms
  end
  redis.call('ZADD', ns_key('due'), next_check, member)
  return deadline, true
end
