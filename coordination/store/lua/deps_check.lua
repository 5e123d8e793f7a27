-- Re-check one dependency: settle it if its condition holds, time it out if its deadline passed, otherwise
-- (mode 'poll') schedule its next check in the due-set.
-- A dependency that timed out or failed must then be routed for the agent that waits on it (by the caller:
-- polling.handle_dependency_timeout). Until that agent is settled it stays in the due-set, GRACE_MS later, so a
-- caller that dies before routing it is replaced by beat; a check of such an unrouted dependency returns its
-- owner again (routing it twice is harmless: the agent's settlement is first-caller-wins), of a routed one none.
-- KEYS: none (built through keys_lib)
-- ARGV: NS, CP, NOW, cid, id, mode ('check'|'poll'), checked_by, grace_ms (optional, default 15000)
-- Returns {status, ready_owner, deadline_ms, owner, type, queued agents "cid/agent/attempt/countdown_ms"...};
-- status 'unknown' when there is no such dependency; owner '' when nothing is left to route.
NS, CP, NOW = ARGV[1], ARGV[2], tonumber(ARGV[3])
local cid, id, mode, by = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
GRACE_MS = tonumber(ARGV[8] or '15000')
local rec = read_record(dep_key(cid, id))
if rec == nil then
  redis.call('ZREM', ns_key('due'), cid .. '/' .. id)
  return {'unknown', '', '0', '', ''}
end
if rec['status'] == 'timeout' or rec['status'] == 'failed' then
  -- Settled before: route it (again) only if its agent still waits for that.
  if dep_route_later(rec, NOW + GRACE_MS) then
    return {rec['status'], '', rec['deadline_ms'], rec['owner'], rec['type']}
  end
  redis.call('ZREM', ns_key('due'), cid .. '/' .. id)
  return {rec['status'], '', rec['deadline_ms'], '', rec['type']}
end
local status, ready = dep_evaluate(rec, by)
if status == 'pending' then
  local deadline = tonumber(rec['deadline_ms'])
  if NOW >= deadline then
    local seconds = tonumber(rec['timeout_ms']) / 1000
    status = 'timeout'
    ready = dep_settle(rec, 'timeout', by,
      'Dependency \'' .. id .. '\' timed out after ' .. string.format('%g', seconds) .. 's')
  elseif mode == 'poll' then
    local next_check = deadline
    local check_ms = tonumber(rec['check_ms'])
    if rec['type'] ~= 'agent_completion' and check_ms > 0 and NOW + check_ms < deadline then
      next_check = NOW + check_ms
    end
    due_add(next_check, cid, id)
  end
end
if status == 'timeout' or status == 'failed' then
  dep_route_later(rec, NOW + GRACE_MS)
end
local reply = {status, ready, rec['deadline_ms'], rec['owner'] or '', rec['type']}
for _, item in ipairs(SENDS) do reply[#reply + 1] = item end
return reply
