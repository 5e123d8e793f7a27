-- End a running coordination early (END, ERROR or a cancel): agents that have not started are skipped.
-- KEYS: meta, agents (list), active, finished
-- ARGV: NOW, cid, final_status (completed|failed), reason, agent_prefix
-- Returns {1, final, skipped_agents, running_agents} when this call ended it, {0, current_status, {}, {}} otherwise.
local meta, agents, active, finished = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now, cid, final, reason, prefix = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local status = redis.call('HGET', meta, 'status')
if status ~= 'running' then return {0, tostring(status), {}, {}} end
local skipped, running = {}, {}
for _, id in ipairs(redis.call('LRANGE', agents, 0, -1)) do
  local key = prefix .. id
  local agent_status = redis.call('HGET', key, 'status')
  if agent_status == 'waiting' or agent_status == 'queued' or agent_status == 'retrying' then
    redis.call('HSET', key, 'status', 'skipped', 'finished_ms', now, 'error', reason)
    redis.call('HINCRBY', meta, 'open', -1)
    skipped[#skipped + 1] = id
  elseif agent_status == 'running' then
    running[#running + 1] = id
  end
end
redis.call('HSET', meta, 'status', final, 'finished_ms', now, 'error', reason)
redis.call('SREM', active, cid)
redis.call('ZADD', finished, now, cid)
return {1, final, skipped, running}
