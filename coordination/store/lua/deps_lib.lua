-- Shared dependency logic (needs keys_lib and agent_lib before it).
-- A dependency record is a hash at dep_key(cid, id) with fields:
--   id, cid, type (agent_completion|resource_availability|quality_gate|approval), target, owner, status
--   (pending|resolved|failed|timeout), threshold, require_success, registered_ms, deadline_ms, timeout_ms,
--   check_ms, resolved_ms, resolved_by, error, metadata (JSON), rearms, scope ('run': the coordination's own
--   resource or gate; 'global' or absent: the namespace's), released ('1' once a timed-out or rejected dependency
--   stopped holding its agent back: on_timeout/on_reject 'continue')
-- A dependency is a member "cid/id" of the namespace due-set (next check or deadline) and of its target's waiter
-- set (waiters_key / waiter_member: per-coordination sets hold the bare id).

local function truthy_json(raw)
  if not raw then return false end
  if raw == 'true' then return true end
  local n = tonumber(raw)
  return n ~= nil and n ~= 0
end

-- The value a resource or gate dependency reads: the coordination's own (scope 'run') or the namespace's.
local function condition_value(rec, field)
  if rec['scope'] == 'run' then
    return redis.call('HGET', coord_key(rec['cid'], 'conditions'), field)
  end
  return redis.call('HGET', ns_key('state:data'), field)
end

-- The recorded verdict on an approval gate of a coordination (decoded), or nil.
local function approval_verdict(cid, gate)
  local raw = redis.call('HGET', coord_key(cid, 'approvals'), gate)
  if not raw then return nil end
  return cjson.decode(raw)
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
    if truthy_json(condition_value(rec, resource_field(target))) then return 'yes' end
    return 'no'
  elseif rtype == 'approval' then
    local verdict = approval_verdict(cid, target)
    if verdict == nil then return 'no' end
    if verdict['verdict'] == 'approved' then return 'yes' end
    return 'failed'
  end
  local score = tonumber(condition_value(rec, gate_field(target)) or '')
  if score ~= nil and score >= tonumber(rec['threshold']) then return 'yes' end
  return 'no'
end

-- Why a dependency whose condition says 'failed' failed.
local function dep_failure(rec)
  if rec['type'] == 'approval' then
    local verdict = approval_verdict(rec['cid'], rec['target']) or {}
    local text = 'approval ' .. rec['target'] .. ' rejected by ' .. tostring(verdict['by'])
    if verdict['note'] ~= nil and verdict['note'] ~= cjson.null and verdict['note'] ~= '' then
      text = text .. ': ' .. verdict['note']
    end
    return text
  end
  return 'agent ' .. rec['target'] .. ' completed with an error'
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
  redis.call('SREM', waiters_key(rec['type'], cid, rec['target'], rec['scope']),
    waiter_member(rec['type'], cid, id, rec['scope']))
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
    return 'failed', dep_settle(rec, 'failed', by, dep_failure(rec))
  end
  return 'pending', ''
end

-- Is a timed-out or failed dependency still waiting to be routed for its agent? (Its agent still waits in a
-- running coordination, and no on_timeout/on_reject 'continue' released it.) Whoever settles one routes it
-- (polling.handle_dependency_timeout); dep_route_later keeps it in the due set meanwhile, so that beat routes it
-- if that caller dies before it does.
local function dep_unrouted(rec)
  local owner = rec['owner'] or ''
  if owner == '' or rec['released'] == '1' then return false end
  if meta_status(rec['cid']) ~= 'running' then return false end
  return redis.call('HGET', agent_key(rec['cid'], owner), 'status') == 'waiting'
end

local function dep_route_later(rec, at_ms)
  if dep_unrouted(rec) then
    due_add(at_ms, rec['cid'], rec['id'])
    return true
  end
  return false
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
-- whether it was written. `counted`: the caller already counted it in the owner's pending count. `scope`: 'run'
-- or 'global' (what a resource or quality gate dependency reads; see waiters_key).
local function dep_write(cid, id, dtype, target, owner, threshold, require_success, timeout_ms, check_ms, metadata,
                         counted, scope)
  local key = dep_key(cid, id)
  local existing = redis.call('HGET', key, 'deadline_ms')
  if existing then return tonumber(existing), false end
  local deadline = NOW + timeout_ms
  redis.call('HSET', key, 'id', id, 'cid', cid, 'type', dtype, 'target', target, 'owner', owner,
    'status', 'pending', 'threshold', threshold, 'require_success', require_success, 'registered_ms', NOW,
    'deadline_ms', deadline, 'timeout_ms', timeout_ms, 'check_ms', check_ms, 'metadata', metadata,
    'scope', scope)
  redis.call('SADD', coord_key(cid, 'deps'), id)
  redis.call('SADD', ns_key('coordinations'), cid)
  if owner ~= '' and not counted then
    redis.call('HINCRBY', coord_key(cid, 'agent-pending'), owner, 1)
  end
  local member = cid .. '/' .. id
  redis.call('SADD', waiters_key(dtype, cid, target, scope), waiter_member(dtype, cid, id, scope))
  local next_check = deadline
  if dtype ~= 'agent_completion' and check_ms > 0 and NOW + check_ms < deadline then
    next_check = NOW + check_ms
  end
  redis.call('ZADD', ns_key('due'), next_check, member)
  return deadline, true
end

-- A private state's keys expire when idle: extend every key a registration wrote (and its owner's pending count).
-- With a batch (dep_register_batch), each key is extended once, when the batch ends.
local function keep_alive(keys, cid, owner, ttl, batch)
  if ttl <= 0 then return end
  if owner ~= '' then keys[#keys + 1] = coord_key(cid, 'agent-pending') end
  for _, written_key in ipairs(keys) do
    if batch then
      if (batch.expire[written_key] or 0) < ttl then batch.expire[written_key] = ttl end
    else
      redis.call('PEXPIRE', written_key, ttl)
    end
  end
end

-- A dependency whose condition already holds is written settled at once: the record as dep_write and then
-- dep_settle would leave it, without entering (and leaving) its waiter set and the due set. With a batch, the
-- writes every registration of the batch shares (the coordination's dependency set, the registry, the owner's
-- pending count) are left to dep_register_batch, which makes each once.
local function dep_write_resolved(at, cid, id, dtype, target, owner, ttl, scope, batch)
  local key = dep_key(cid, id)
  local timeout_ms = tonumber(ARGV[at + 7])
  redis.call('HSET', key, 'id', id, 'cid', cid, 'type', dtype, 'target', target, 'owner', owner,
    'status', 'resolved', 'threshold', ARGV[at + 5], 'require_success', ARGV[at + 6], 'registered_ms', NOW,
    'deadline_ms', NOW + timeout_ms, 'timeout_ms', timeout_ms, 'check_ms', tonumber(ARGV[at + 8]),
    'metadata', ARGV[at + 9], 'scope', scope, 'resolved_ms', NOW, 'resolved_by', 'registration', 'error', '')
  redis.call('PUBLISH', ns_key('dep-events'), cid .. '/' .. id .. '/resolved')
  -- Counted by the caller: this one is no longer pending. Not counted: it never was (the field is still made).
  local change = 0
  if ARGV[at + 11] == '1' then change = -1 end
  local ready = ''
  if batch then
    local ids = batch.ids[cid]
    if ids == nil then
      ids = {}
      batch.ids[cid] = ids
      batch.cids[#batch.cids + 1] = cid
    end
    ids[#ids + 1] = id
    if owner ~= '' then
      local who = cid .. '/' .. owner
      local entry = batch.settled[who]
      if entry == nil then
        entry = {cid, owner, 0}
        batch.settled[who] = entry
      end
      entry[3] = entry[3] + change
    end
  else
    redis.call('SADD', coord_key(cid, 'deps'), id)
    redis.call('SADD', ns_key('coordinations'), cid)
    if owner ~= '' and redis.call('HINCRBY', coord_key(cid, 'agent-pending'), owner, change) <= 0 then
      agent_ready(cid, owner)
      ready = owner
    end
  end
  keep_alive({key, coord_key(cid, 'deps'), ns_key('coordinations')}, cid, owner, ttl, batch)
  return tostring(NOW + timeout_ms), ready
end

-- Register the dependency whose 13 values start at ARGV[at]: cid, id, type, target, owner, threshold,
-- require_success, timeout_ms, check_ms, metadata_json, ttl_ms, counted ('1' when the caller already counted it in
-- agent-pending), scope ('run' | 'global'). Idempotent; settled at once if its condition already holds. Returns
-- its status, its deadline (ms, as text) and the owner it made ready ('' if none).
local function dep_register(at, batch)
  local cid, id, dtype, target, owner = ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3], ARGV[at + 4]
  local ttl, scope = tonumber(ARGV[at + 10]), ARGV[at + 12]
  local key = dep_key(cid, id)
  local existing = redis.call('HGET', key, 'deadline_ms')
  if existing then  -- registered before: idempotent
    return redis.call('HGET', key, 'status'), tostring(tonumber(existing)), ''
  end
  local probe = {type = dtype, cid = cid, target = target, scope = scope, threshold = ARGV[at + 5],
                 require_success = ARGV[at + 6]}
  if dep_condition(probe) == 'yes' then
    local deadline, ready = dep_write_resolved(at, cid, id, dtype, target, owner, ttl, scope, batch)
    return 'resolved', deadline, ready
  end
  local deadline = dep_write(cid, id, dtype, target, owner, ARGV[at + 5], ARGV[at + 6],
    tonumber(ARGV[at + 7]), tonumber(ARGV[at + 8]), ARGV[at + 9], ARGV[at + 11] == '1', scope)
  keep_alive({key, coord_key(cid, 'deps'), ns_key('coordinations'), waiters_key(dtype, cid, target, scope),
              ns_key('due')}, cid, owner, ttl, batch)
  local status, ready = dep_evaluate(read_record(key), 'registration')
  return status, tostring(deadline), ready
end

-- Register `n` dependencies whose 13 values each start at ARGV[first_at] (as dep_register takes them), in order.
-- An owner is counted for all its new dependencies before any is registered (as pipeline_submit counts an agent's
-- list), so it cannot look ready, or be queued, half-way through its list; it becomes ready at most once, at the
-- end. What the registrations share is written once: the coordinations' dependency sets, the registry, each
-- owner's pending count, each key's expiry. Returns {status, deadline_ms, ready_owner} per dependency, in order
-- (the owner made ready is reported on its last dependency).
local function dep_register_batch(first_at, n)
  local batch = {ids = {}, cids = {}, settled = {}, expire = {}}
  local owners, last_of, counted = {}, {}, {}
  for i = 0, n - 1 do
    local at = first_at + i * 13
    local cid, id, owner = ARGV[at], ARGV[at + 1], ARGV[at + 4]
    local member = cid .. '/' .. id
    if owner ~= '' and ARGV[at + 11] ~= '1' and not counted[member]
        and redis.call('EXISTS', dep_key(cid, id)) == 0 then
      counted[member] = true
      ARGV[at + 11] = '1'
      local who = cid .. '/' .. owner
      if owners[who] == nil then
        owners[who] = {cid, owner, 0}
        owners[#owners + 1] = who
      end
      owners[who][3] = owners[who][3] + 1
    end
  end
  for _, who in ipairs(owners) do
    local entry = owners[who]
    redis.call('HINCRBY', coord_key(entry[1], 'agent-pending'), entry[2], entry[3])
  end
  local out = {}
  for i = 0, n - 1 do
    local at = first_at + i * 13
    local status, deadline, ready = dep_register(at, batch)
    out[#out + 1] = status
    out[#out + 1] = deadline
    out[#out + 1] = ready
    if ARGV[at + 4] ~= '' then last_of[ARGV[at] .. '/' .. ARGV[at + 4]] = #out end
  end
  for _, cid in ipairs(batch.cids) do
    local ids = batch.ids[cid]
    for from = 1, #ids, 1000 do  -- unpack() stops at 8000 values: a list of any length is added in parts
      redis.call('SADD', coord_key(cid, 'deps'), unpack(ids, from, math.min(from + 999, #ids)))
    end
    redis.call('SADD', ns_key('coordinations'), cid)
  end
  -- Owners whose registrations settled: their count once; made ready when nothing is left pending.
  for who, entry in pairs(batch.settled) do
    local cid, owner, change = entry[1], entry[2], entry[3]
    if redis.call('HINCRBY', coord_key(cid, 'agent-pending'), owner, change) <= 0 then
      agent_ready(cid, owner)
      out[last_of[who]] = owner
    end
  end
  for key, ttl in pairs(batch.expire) do
    redis.call('PEXPIRE', key, ttl)
  end
  return out
end
