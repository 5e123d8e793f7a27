-- Expand a map agent whose attempt was admitted (it holds lease `run`): create its items and queue their first
-- attempts, or complete it at once when the list is empty (map_lib.lua describes the records). The caller has
-- read the list from the upstream result and checked it against max_items. A duplicate changes nothing.
-- KEYS: none (built through keys_lib)
-- ARGV: NS, CP, NOW, doc_json, where doc_json holds:
--   cid, agent, attempt, run, items [the JSON text of each item], history, grace_ms,
--   signal (8 values of the agent's agent_completed signal, emitted when there are no items),
--   finished (8 values of the coordination_finished signal; its data is filled in here)
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
if status ~= 'running' or attempt ~= tonumber(redis.call('HGET', key, 'attempt') or '0')
    or redis.call('HGET', key, 'run') ~= p['run'] or redis.call('HEXISTS', key, 'map_count') == 1 then
  return {'duplicate', tostring(status), tostring(redis.call('HGET', meta, 'status'))}
end
local coordination = redis.call('HGET', meta, 'status')
agent_not_due(cid, agent)
if coordination ~= 'running' then
  -- The coordination ended while the attempt was admitted: no item starts.
  local closed = 'skipped'
  if coordination == 'cancelled' then closed = 'cancelled' end
  redis.call('HSET', key, 'status', closed, 'finished_ms', NOW, 'lease_ms', 0,
    'error', 'the coordination ended (' .. tostring(coordination) .. ') before its items were queued')
  redis.call('HINCRBY', meta, 'open', -1)
  return {'first', '', tostring(coordination)}
end

local count = #p['items']
redis.call('HSET', key, 'map_count', count, 'map_settled', 0, 'run', '', 'lease_ms', 0)
-- The expansion ran no function: it frees what it took of the agent's limits, and each item runs under them.
local limits = redis.call('HGET', key, 'limits')
limits_release(cid, agent)
if count == 0 then
  map_complete(cid, agent, p['signal'])
  agent_done(cid, agent, true, 'signal:' .. p['signal'][1], {})
else
  redis.call('HINCRBY', meta, 'open', count)
  for i, item in ipairs(p['items']) do
    local id = map_item_id(agent, i - 1)
    local item_key = agent_key(cid, id)
    -- A re-run (coordination_retry) expands again: an item of the earlier run keeps counting its attempts (so a
    -- message of an earlier attempt is stale) with a fresh retry budget, and forgets that run's outcome.
    local next_attempt = agent_next_attempt(cid, id)
    redis.call('HDEL', item_key, 'queued_ms', 'started_ms', 'finished_ms', 'task_id', 'run', 'lease_ms', 'takeovers',
      'error', 'traceback', 'decision', 'result', 'quality', 'progress', 'progress_msg', 'progress_ms', 'output',
      'progress_events', 'progress_attempt')
    redis.call('HSET', item_key, 'map_parent', agent, 'map_index', i - 1, 'item', item, 'first_attempt', next_attempt)
    if limits then redis.call('HSET', item_key, 'limits', limits) end
    agent_queue(cid, id, next_attempt, 0)
  end
end

local final = ''
if redis.call('HGET', meta, 'status') == 'running' and tonumber(redis.call('HGET', meta, 'open')) <= 0 then
  final = 'completed'
  if tonumber(redis.call('HGET', meta, 'failures')) > 0 then final = 'failed' end
  coordination_finish(cid, final, '', p['finished'])
end
local reply = {'first', final, tostring(redis.call('HGET', meta, 'status'))}
for _, item in ipairs(SENDS) do reply[#reply + 1] = item end
return reply
