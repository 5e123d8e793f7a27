-- Shared dependency logic, prepended to the scripts that resolve dependencies.
-- A dependency record is a hash at <coord_prefix>{<cid>}:dep:<id> with fields:
--   id, cid, type (agent_completion|resource_availability|quality_gate), target, owner, status
--   (pending|resolved|failed|timeout), threshold, require_success, registered_ms, deadline_ms, check_ms,
--   resolved_ms, resolved_by, error, metadata (JSON)
-- The script that includes this sets NS (namespace prefix "R:{N}"), CP (coordination prefix "R:N:coord:")
-- and NOW (ms) first thing; they are locals here because Redis forbids globals in scripts.
local NS, CP, NOW

local function coord_key(cid, suffix)
  return CP .. '{' .. cid .. '}:' .. suffix
end

local function waiters_key(rtype, cid, target)
  if rtype == 'agent_completion' then
    return coord_key(cid, 'waiters:agent:' .. target)
  elseif rtype == 'resource_availability' then
    return NS .. ':waiters:resource:' .. target
  end
  return NS .. ':waiters:gate:' .. target
end

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
    if truthy_json(redis.call('HGET', NS .. ':state:data', 'resource_' .. target .. '_available')) then
      return 'yes'
    end
    return 'no'
  end
  local score = tonumber(redis.call('HGET', NS .. ':state:data', 'quality_gate_' .. target .. '_score') or '')
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
-- left (it became ready), '' otherwise. Announces the change on the namespace's channel.
local function dep_settle(rec, status, by, error_message)
  local cid, id = rec['cid'], rec['id']
  local key = coord_key(cid, 'dep:' .. id)
  redis.call('HSET', key, 'status', status, 'resolved_ms', NOW, 'resolved_by', by, 'error', error_message)
  local member = cid .. '/' .. id
  if rec['type'] == 'agent_completion' then member = id end
  redis.call('SREM', waiters_key(rec['type'], cid, rec['target']), member)
  redis.call('ZREM', NS .. ':due', cid .. '/' .. id)
  redis.call('PUBLISH', NS .. ':dep-events', cid .. '/' .. id .. '/' .. status)
  local owner = rec['owner'] or ''
  if owner ~= '' and status == 'resolved' then
    local left = redis.call('HINCRBY', coord_key(cid, 'agent-pending'), owner, -1)
    if left <= 0 then return owner end
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
local function wake_waiters(set_key, cid_of_set, by, ready)
  local members = redis.call('SMEMBERS', set_key)
  local settled = 0
  for _, member in ipairs(members) do
    local cid, id = cid_of_set, member
    if cid == nil then
      local slash = string.find(member, '/', 1, true)
      cid, id = string.sub(member, 1, slash - 1), string.sub(member, slash + 1)
    end
    local rec = read_record(coord_key(cid, 'dep:' .. id))
    if rec == nil then
      redis.call('SREM', set_key, member)
    else
      local status, owner = dep_evaluate(rec, by)
      if status ~= 'pending' then
        settled = settled + 1
        ready[#ready + 1] = cid .. '/' .. id .. '/' .. status .. '/' .. owner
      end
    end
  end
  return settled
end
