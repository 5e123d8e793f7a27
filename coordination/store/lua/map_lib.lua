-- Fan-out over a result (`map:`; coordination/models/fan_out.py). Included before agent_lib.
-- When a map agent's attempt is admitted, map_expand.lua gives its record map_count (items) and map_settled (items
-- completed or skipped so far), and creates item i as an agent record of its own under the id '<agent>.<i>', with
-- map_parent, map_index and item (the item's JSON): admission, leases, renewal, beat's repair and the once-only
-- settlement of an attempt then work for items exactly as for agents. Items count in the coordination's `open`
-- agents until they settle, as the map agent does until its last item settles (agent_settle.lua).

local function map_item_id(parent, index)
  return parent .. '.' .. index
end

-- Is the record at `key` an expanded map agent whose items are still running? (Such a record runs no attempt of
-- its own: deliveries of its message are duplicates, and it is not in the agents-due set.)
local function map_running(key)
  return redis.call('HGET', key, 'status') == 'running' and redis.call('HEXISTS', key, 'map_count') == 1
end

-- Settle running map agent `parent` as `status` with `reason`, and close its items that have not started as
-- `item_status`. Returns the items still running (they settle themselves; nothing follows from them any more).
local function map_close(cid, parent, status, reason, item_status)
  local meta = coord_key(cid, 'meta')
  local key = agent_key(cid, parent)
  redis.call('HSET', key, 'status', status, 'finished_ms', NOW, 'error', reason)
  redis.call('HINCRBY', meta, 'open', -1)
  local running = {}
  for i = 0, tonumber(redis.call('HGET', key, 'map_count')) - 1 do
    local id = map_item_id(parent, i)
    local item_key = agent_key(cid, id)
    local current = redis.call('HGET', item_key, 'status')
    if current == 'queued' or current == 'retrying' then
      redis.call('HSET', item_key, 'status', item_status, 'finished_ms', NOW, 'error', reason)
      redis.call('HINCRBY', meta, 'open', -1)
      redis.call('ZREM', ns_key('agents-due'), cid .. '/' .. id)
    elseif current == 'running' then
      running[#running + 1] = id
    end
  end
  return running
end

-- An item failed for good (after its retries): its map agent fails with the item's error, the items that have not
-- started are cancelled, and the map agent's agent_failed signal (`signal`, 8 values) is emitted.
local function map_item_failed(cid, item, error, signal)
  local parent = redis.call('HGET', agent_key(cid, item), 'map_parent')
  if not parent or not map_running(agent_key(cid, parent)) then return end
  map_close(cid, parent, 'failed', 'item ' .. item .. ' failed: ' .. error, 'cancelled')
  redis.call('HSET', agent_key(cid, parent), 'decision', 'fail')
  signal_emit_one(cid, signal)
end

-- Complete map agent `parent`: its result is its items' results in item order (null for an item that was skipped).
-- Emits its agent_completed signal (`signal`, 8 values); the caller then settles what waits for it (agent_done).
local function map_complete(cid, parent, signal)
  local key = agent_key(cid, parent)
  local results = {}
  for i = 0, tonumber(redis.call('HGET', key, 'map_count')) - 1 do
    local status, result = unpack(redis.call('HMGET', agent_key(cid, map_item_id(parent, i)), 'status', 'result'))
    if status ~= 'completed' or not result or result == '' then result = 'null' end
    results[#results + 1] = result
  end
  redis.call('HSET', key, 'status', 'completed', 'finished_ms', NOW, 'decision', 'continue',
    'result', '[' .. table.concat(results, ',') .. ']')
  redis.call('HINCRBY', coord_key(cid, 'meta'), 'open', -1)
  signal_emit_one(cid, signal)
end

-- An item completed (or was skipped): count it; when it is the map agent's last, complete the map agent in this
-- same step (so two items settling at once can neither both nor neither complete it). Returns the map agent when
-- this call completed it (the caller settles what waits for it), else nil.
local function map_item_settled(cid, item, signal)
  local parent = redis.call('HGET', agent_key(cid, item), 'map_parent')
  local key = agent_key(cid, parent)
  if not map_running(key) then return nil end
  if redis.call('HINCRBY', key, 'map_settled', 1) < tonumber(redis.call('HGET', key, 'map_count')) then return nil end
  map_complete(cid, parent, signal)
  return parent
end
