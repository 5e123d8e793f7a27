-- Re-run a finished coordination from where it broke, in one atomic step: the agents to re-run go back to
-- 'waiting' (or 'dormant' for branch targets that a re-run decision must wake again) keeping their attempt
-- counter, so their next attempt gets a new number (a message of an earlier attempt is 'stale' to agent_start);
-- their dependencies are re-armed (a new clock from now, re-arms and releases forgotten, waiting in their waiter
-- sets again); rejected verdicts of their approval gates are cleared (the gate is asked again); the coordination
-- becomes 'running' and active again with its run number bumped (from then on every signal id of the
-- coordination carries '.r<run>': signal_lib); a coordination_started signal announces the run; the agents with
-- nothing pending are queued. Completed agents that are not re-run keep their records, results and
-- contexts. Refused (nothing written) unless the coordination is finished and still at run `runs`, and none of
-- its agents has an attempt in flight.
-- KEYS: none (built through keys_lib)
-- ARGV: NS, CP, NOW, plan_json, where plan_json holds:
--   cid, runs (the run number the caller read; 1 when never re-run), rerun [agent ids in workflow order],
--   dormant [those of them that go back to 'dormant'], failures (failed agents that are not re-run),
--   verdicts [approval gates whose rejection is cleared], history, grace_ms,
--   signal (the coordination_started signal's 8 values)
-- Returns {'retried', run number, queued "cid/agent/attempt/countdown_ms"...} or {'refused', why, detail}:
--   why 'gone' | 'status' (detail: the coordination's status) | 'moved' (detail: its run number now) |
--   'busy' (detail: an agent whose attempt runs)
NS, CP, NOW = ARGV[1], ARGV[2], tonumber(ARGV[3])
local p = cjson.decode(ARGV[4])
local cid = p['cid']
SIGNAL_HISTORY = tonumber(p['history'])
GRACE_MS = tonumber(p['grace_ms'])
local meta = coord_key(cid, 'meta')
local status = meta_status(cid)
if not status then return {'refused', 'gone', ''} end
if status == 'running' then return {'refused', 'status', status} end
local runs = tonumber(redis.call('HGET', meta, 'runs') or '1')
if runs ~= tonumber(p['runs']) then return {'refused', 'moved', tostring(runs)} end
-- An attempt still in flight (a cancel or an END lets running attempts finish) would settle into the new run.
for _, agent in ipairs(redis.call('LRANGE', coord_key(cid, 'agents'), 0, -1)) do
  local current = redis.call('HGET', agent_key(cid, agent), 'status')
  if current == 'running' or current == 'queued' or current == 'retrying' then
    return {'refused', 'busy', agent}
  end
end

local dormant = {}
for _, agent in ipairs(p['dormant']) do dormant[agent] = true end
local rerun = {}
local open = 0
for _, agent in ipairs(p['rerun']) do
  rerun[agent] = true
  local key = agent_key(cid, agent)
  local next_status = 'waiting'
  if dormant[agent] then next_status = 'dormant' else open = open + 1 end
  local attempt = tonumber(redis.call('HGET', key, 'attempt') or '0')
  redis.call('HDEL', key, 'queued_ms', 'started_ms', 'finished_ms', 'task_id', 'run', 'lease_ms', 'takeovers',
    'error', 'traceback', 'decision', 'result', 'quality', 'progress', 'progress_msg', 'progress_ms', 'output',
    'progress_events', 'progress_attempt', 'map_count', 'map_settled')
  redis.call('HSET', key, 'status', next_status, 'first_attempt', attempt + 1)
  redis.call('SREM', coord_key(cid, 'completed'), agent)
  redis.call('SREM', coord_key(cid, 'failed'), agent)
  redis.call('HDEL', coord_key(cid, 'agent-pending'), agent)
  agent_not_due(cid, agent)
end

for _, gate in ipairs(p['verdicts']) do
  local verdict = approval_verdict(cid, gate)
  if verdict ~= nil and verdict['verdict'] ~= 'approved' then
    redis.call('HDEL', coord_key(cid, 'approvals'), gate)
  end
end

-- Re-arm the dependencies of the agents that run again: count them all first, so no agent looks ready half-way.
local reset = {}
for _, id in ipairs(redis.call('SMEMBERS', coord_key(cid, 'deps'))) do
  local rec = read_record(dep_key(cid, id))
  if rec ~= nil and rerun[rec['owner'] or ''] then reset[#reset + 1] = rec end
end
local pending_key = coord_key(cid, 'agent-pending')
for _, rec in ipairs(reset) do
  local key = dep_key(cid, rec['id'])
  local timeout_ms, check_ms = tonumber(rec['timeout_ms']), tonumber(rec['check_ms'] or '0')
  local deadline = NOW + timeout_ms
  redis.call('HDEL', key, 'resolved_ms', 'resolved_by', 'released')
  redis.call('HSET', key, 'status', 'pending', 'registered_ms', NOW, 'deadline_ms', deadline, 'rearms', 0,
    'error', '')
  redis.call('HINCRBY', pending_key, rec['owner'], 1)
  redis.call('SADD', waiters_key(rec['type'], cid, rec['target'], rec['scope']),
    waiter_member(rec['type'], cid, rec['id'], rec['scope']))
  local next_check = deadline
  if rec['type'] ~= 'agent_completion' and check_ms > 0 and NOW + check_ms < deadline then
    next_check = NOW + check_ms
  end
  due_add(next_check, cid, rec['id'])
end

redis.call('HDEL', meta, 'finished_ms', 'error')
redis.call('HSET', meta, 'status', 'running', 'open', open, 'failures', tonumber(p['failures']), 'runs', runs + 1,
  'retried_ms', NOW)
redis.call('ZREM', ns_key('finished'), cid)
redis.call('SADD', ns_key('active'), cid)
signal_emit_one(cid, p['signal'])

-- What already holds (completed upstream agents, an approval given, a gate already scored) settles now and may
-- queue its agent; then every waiting agent with nothing pending starts.
for _, rec in ipairs(reset) do
  dep_evaluate(read_record(dep_key(cid, rec['id'])), 'registration')
end
for _, agent in ipairs(p['rerun']) do
  if not dormant[agent] and tonumber(redis.call('HGET', pending_key, agent) or '0') <= 0 then
    agent_ready(cid, agent)
  end
end
local reply = {'retried', tostring(runs + 1)}
for _, item in ipairs(SENDS) do reply[#reply + 1] = item end
return reply
