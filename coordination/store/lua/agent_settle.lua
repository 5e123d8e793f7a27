-- Record an agent's outcome once and carry out its plan in the same atomic step: announce it, settle and queue
-- the agents it unblocks, queue its retry, start branch targets, skip others, end or finish the coordination.
-- The first caller wins; a duplicate (a redelivery, an attempt taken over by another worker) changes nothing.
-- KEYS: none (built through keys_lib)
-- ARGV: NS, CP, NOW, plan_json, where plan_json holds:
--   cid, agent, mode ('finish': the running attempt holding lease `run` ends | 'mark': a waiting or queued agent
--   is settled without running), attempt, run, outcome (completed|failed|skipped|timed_out|retrying|cancelled),
--   result (JSON text or ''), quality ('' or a number as text), error, traceback, decision (what happened),
--   routed (true when a routing decision was made),
--   routing [[name, value, name, value, ...]...] (routing-stream entries, coordination/routing/history_format.py),
--   routing_cap, history, grace_ms,
--   signal (8 values of the outcome's own signal), retry {attempt, countdown_ms} (outcome 'retrying'),
--   enqueue [agents to start now], skip [[agent, reason, 8 signal values]...], end {status, reason} (optional),
--   finished (8 values of the coordination_finished signal; its data is filled in here),
--   logs [[ts, level, text]...] (the attempt's log lines), logs_cap (entries kept in the coordination's log stream),
--   map_signal (an item of a map agent: 8 values of the map agent's signal if this outcome completes or fails it)
-- Returns {'first', final_status_or_'', coordination_status, queued "cid/agent/attempt/countdown_ms"...} or
-- {'duplicate', agent_status, coordination_status}.
NS, CP, NOW = ARGV[1], ARGV[2], tonumber(ARGV[3])
local p = cjson.decode(ARGV[4])
local cid, agent, attempt = p['cid'], p['agent'], tonumber(p['attempt'])
SIGNAL_HISTORY = tonumber(p['history'])
GRACE_MS = tonumber(p['grace_ms'])
local key = agent_key(cid, agent)
local meta = coord_key(cid, 'meta')
local status = redis.call('HGET', key, 'status')
local current = tonumber(redis.call('HGET', key, 'attempt') or '0')
if p['mode'] == 'finish' then
  if status ~= 'running' or attempt ~= current or redis.call('HGET', key, 'run') ~= p['run'] then
    return {'duplicate', tostring(status), tostring(redis.call('HGET', meta, 'status'))}
  end
elseif status ~= 'waiting' and status ~= 'queued' then
  return {'duplicate', tostring(status), tostring(redis.call('HGET', meta, 'status'))}
end

local outcome = p['outcome']
local coordination = redis.call('HGET', meta, 'status')
if outcome == 'retrying' and coordination ~= 'running' then
  -- The coordination ended while this attempt ran: nothing starts after it, not even its retry.
  outcome = 'skipped'
  if coordination == 'cancelled' then outcome = 'cancelled' end
end
local map_parent = redis.call('HGET', key, 'map_parent')  -- an item of a map agent (map_lib)
if map_parent and (outcome == 'failed' or outcome == 'timed_out') then
  map_item_failed(cid, agent, p['error'], p['map_signal'])
end
local ending = p['end']
if ending ~= nil and ending ~= cjson.null and coordination == 'running' then
  -- END / ERROR: the coordination ends before this outcome is announced, so nothing it would unblock starts;
  -- agents that have not started are skipped.
  redis.call('HSET', meta, 'status', ending['status'])
  agents_close_unstarted(cid, 'skipped', ending['reason'])
  if p['mode'] == 'mark' then
    -- (this agent was among them: it is settled below with its own outcome instead)
    redis.call('HINCRBY', meta, 'open', 1)
  end
else
  ending = nil
end

redis.call('HSET', key, 'status', outcome, 'finished_ms', NOW, 'error', p['error'], 'decision', p['decision'],
  'traceback', p['traceback'], 'lease_ms', 0)
if p['result'] ~= '' then redis.call('HSET', key, 'result', p['result']) end
if p['quality'] ~= '' then redis.call('HSET', key, 'quality', p['quality']) end
for _, r in ipairs(p['routing']) do
  redis.call('XADD', ns_key('routing'), 'MAXLEN', '~', p['routing_cap'], '*', unpack(r))
end
if p['routed'] then redis.call('HINCRBY', meta, 'decisions', 1) end
local logs = coord_key(cid, 'logs')
for _, line in ipairs(p['logs']) do
  redis.call('XADD', logs, 'MAXLEN', '~', p['logs_cap'], '*', 'agent', agent, 'attempt', attempt, 'ts', line[1],
    'level', line[2], 'msg', line[3])
end
if p['traceback'] ~= '' then
  redis.call('XADD', logs, 'MAXLEN', '~', p['logs_cap'], '*', 'agent', agent, 'attempt', attempt, 'ts',
    tostring(NOW / 1000), 'level', 'TRACEBACK', 'msg', p['traceback'])
end

local settled = {}
if p['signal'] ~= nil and p['signal'] ~= cjson.null then signal_emit_one(cid, p['signal']) end
if outcome == 'retrying' then
  agent_queue(cid, agent, tonumber(p['retry']['attempt']), tonumber(p['retry']['countdown_ms']), 'retrying')
else
  agent_not_due(cid, agent)
  redis.call('HINCRBY', meta, 'open', -1)
  if outcome == 'failed' or outcome == 'timed_out' then
    redis.call('HINCRBY', meta, 'failures', 1)
  elseif outcome == 'completed' or outcome == 'skipped' then
    -- A skipped agent counts as done for the agents that wait for it (the pipeline's SKIP decision).
    if not map_parent then
      agent_done(cid, agent, true, 'signal:' .. p['signal'][1], settled)
    elseif map_item_settled(cid, agent, p['map_signal']) then
      agent_done(cid, map_parent, true, 'signal:' .. p['map_signal'][1], settled)
    end
  end
end

if redis.call('HGET', meta, 'status') == 'running' then
  for _, other in ipairs(p['enqueue']) do agent_start_now(cid, other) end
end
for _, s in ipairs(p['skip']) do
  local other_key = agent_key(cid, s[1])
  local other_status = redis.call('HGET', other_key, 'status')
  if other_status == 'waiting' or other_status == 'queued' then
    redis.call('HSET', other_key, 'status', 'skipped', 'finished_ms', NOW, 'error', s[2], 'decision', 'skip')
    redis.call('HINCRBY', meta, 'open', -1)
    agent_not_due(cid, s[1])
    signal_emit_one(cid, s[3])
    agent_done(cid, s[1], true, 'signal:' .. s[3][1], settled)
  end
end

local final = ''
if ending ~= nil then
  final = ending['status']
  coordination_finish(cid, final, ending['reason'], p['finished'])
elseif redis.call('HGET', meta, 'status') == 'running' and tonumber(redis.call('HGET', meta, 'open')) <= 0 then
  final = 'completed'
  if tonumber(redis.call('HGET', meta, 'failures')) > 0 then final = 'failed' end
  coordination_finish(cid, final, '', p['finished'])
end
local reply = {'first', final, tostring(redis.call('HGET', meta, 'status'))}
for _, item in ipairs(SENDS) do reply[#reply + 1] = item end
return reply
