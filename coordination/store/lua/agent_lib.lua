-- Agent and coordination transitions of pipeline coordinations (shared by the pipeline scripts and by every
-- script that settles dependencies, since a settled dependency can make a pipeline agent ready).
-- An agent record is a hash at agent_key(cid, agent) with: status (waiting | dormant | queued | running |
-- retrying | completed | failed | skipped | timed_out | cancelled), attempt, queued_ms, started_ms, finished_ms,
-- task_id, run (token of the delivery that runs the attempt), lease_ms (lease end), takeovers (expired leases taken
-- over), error, traceback, decision, result, quality.
-- The namespace's agents-due zset holds "cid/agent" for every agent beat may have to act on, scored by when:
-- a queued or retrying agent whose message may be lost, a running agent whose lease ends.
-- GRACE_MS (how long a newly queued agent's message may take to be sent) is set by the including script.
local GRACE_MS = 15000
-- Agents queued by this script run, as "cid/agent/attempt/countdown_ms": the caller sends their messages.
local SENDS = {}

local function meta_status(cid)
  return redis.call('HGET', coord_key(cid, 'meta'), 'status')
end

local function agent_due(cid, agent, at_ms)
  redis.call('ZADD', ns_key('agents-due'), at_ms, cid .. '/' .. agent)
end

local function agent_not_due(cid, agent)
  redis.call('ZREM', ns_key('agents-due'), cid .. '/' .. agent)
end

-- Queue an attempt (status 'queued', or 'retrying' while its back-off runs) and ask the caller to send it.
local function agent_queue(cid, agent, attempt, countdown_ms, status)
  redis.call('HSET', agent_key(cid, agent), 'status', status or 'queued', 'attempt', attempt,
    'queued_ms', NOW + countdown_ms, 'run', '', 'task_id', '')
  agent_due(cid, agent, NOW + countdown_ms + GRACE_MS)
  SENDS[#SENDS + 1] = cid .. '/' .. agent .. '/' .. attempt .. '/' .. countdown_ms
end

-- The number of an agent's next first attempt: 1, or after a re-run (coordination_retry) the one after its last.
local function agent_next_attempt(cid, agent)
  return tonumber(redis.call('HGET', agent_key(cid, agent), 'attempt') or '0') + 1
end

-- A dependency settlement made `agent` ready: queue its first attempt if it waits in a running coordination.
-- (No-op for coordinations that are not pipeline coordinations: the resolver used on its own.)
local function agent_ready(cid, agent)
  if meta_status(cid) ~= 'running' then return false end
  if redis.call('HGET', agent_key(cid, agent), 'status') ~= 'waiting' then return false end
  agent_queue(cid, agent, agent_next_attempt(cid, agent), 0)
  return true
end

-- A dependency of a dormant agent that timed out or failed was not routed (nothing waited for it then): now that
-- the agent is woken and waits, put it back in the due set so that beat's next poll routes it (its on_timeout /
-- on_reject default or the agent's routing), instead of the agent waiting for it for ever.
local function agent_route_missed(cid, agent)
  for _, id in ipairs(redis.call('SMEMBERS', coord_key(cid, 'deps'))) do
    local owner, status, released = unpack(redis.call('HMGET', dep_key(cid, id), 'owner', 'status', 'released'))
    if owner == agent and released ~= '1' and (status == 'timeout' or status == 'failed') then
      due_add(NOW, cid, id)
    end
  end
end

-- Start a branch target or parallel member now. A dormant branch target is woken (counted open); an agent whose
-- own dependencies are still pending is left waiting (it starts when they are met).
local function agent_start_now(cid, agent)
  local key = agent_key(cid, agent)
  local status = redis.call('HGET', key, 'status')
  local woken = status == 'dormant'
  if woken then
    redis.call('HINCRBY', coord_key(cid, 'meta'), 'open', 1)
    redis.call('HSET', key, 'status', 'waiting')
  elseif status ~= 'waiting' then
    return false
  end
  if tonumber(redis.call('HGET', coord_key(cid, 'agent-pending'), agent) or '0') > 0 then
    if woken then agent_route_missed(cid, agent) end
    return false
  end
  agent_queue(cid, agent, agent_next_attempt(cid, agent), 0)
  return true
end

-- Close the dependencies still pending when a coordination ends (of agents that never started, or dormant
-- branch targets): nothing waits for them any more, so they leave the due set and their waiter sets.
local function dependencies_close(cid)
  for _, id in ipairs(redis.call('SMEMBERS', coord_key(cid, 'deps'))) do
    local key = dep_key(cid, id)
    if redis.call('HGET', key, 'status') == 'pending' then
      local dtype, target, scope = unpack(redis.call('HMGET', key, 'type', 'target', 'scope'))
      redis.call('HSET', key, 'status', 'failed', 'resolved_ms', NOW, 'resolved_by', 'end',
        'error', 'the coordination ended before it was met')
      redis.call('SREM', waiters_key(dtype, cid, target, scope), waiter_member(dtype, cid, id, scope))
      redis.call('ZREM', ns_key('due'), cid .. '/' .. id)
    end
  end
end

-- Mark the coordination finished (completed | failed | cancelled | lost) and announce it once.
-- `signal` holds the coordination_finished signal's values; its data is filled in here.
local function coordination_finish(cid, final, reason, signal)
  dependencies_close(cid)
  local meta = coord_key(cid, 'meta')
  redis.call('HSET', meta, 'status', final, 'finished_ms', NOW)
  if reason ~= '' then redis.call('HSET', meta, 'error', reason) end
  redis.call('SREM', ns_key('active'), cid)
  redis.call('ZADD', ns_key('finished'), NOW, cid)
  if signal then
    signal[7] = cjson.encode({status = final, reason = reason})
    signal_emit_one(cid, signal)
  end
end

-- Settle every agent that has not started (waiting, queued, retrying) as `status` with `reason`; return them and
-- the agents whose attempt is still running.
local function agents_close_unstarted(cid, status, reason)
  local meta = coord_key(cid, 'meta')
  local closed, running = {}, {}
  for _, id in ipairs(redis.call('LRANGE', coord_key(cid, 'agents'), 0, -1)) do
    local key = agent_key(cid, id)
    local current = redis.call('HGET', key, 'status')
    if current == 'waiting' or current == 'queued' or current == 'retrying' then
      redis.call('HSET', key, 'status', status, 'finished_ms', NOW, 'error', reason)
      redis.call('HINCRBY', meta, 'open', -1)
      agent_not_due(cid, id)
      limits_release(cid, id)  -- a deferred attempt's tickets
      closed[#closed + 1] = id
    elseif current == 'running' and map_running(key) then
      -- An expanded map agent (map_lib): it is closed with its unstarted items; its running items finish.
      for _, item in ipairs(map_close(cid, id, status, reason, status)) do running[#running + 1] = item end
      closed[#closed + 1] = id
    elseif current == 'running' then
      running[#running + 1] = id
    end
  end
  return closed, running
end
