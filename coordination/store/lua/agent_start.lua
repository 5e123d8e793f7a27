-- Admit one delivery of an agent message, give the attempt a lease, and return what the attempt reads first.
-- An attempt runs under a lease its worker renews (agent_renew); while the lease is alive every other delivery
-- of the attempt is refused, whatever its task id (a replayed or duplicated message cannot run it in parallel).
-- A delivery that finds the lease expired (its worker died) takes the attempt over; after max_takeovers expired
-- leases the attempt is 'exhausted' (the caller then records it as failed, holding the lease to do so).
-- KEYS: none (built through keys_lib)
-- ARGV: NS, CP, NOW, cid, agent, attempt, task_id, run_token, lease_ms, max_takeovers, want_workflow ('1'|'0'),
--       history, then the agent_initialized signal's 8 values
-- Returns {verdict, detail, context_json|'', input_json|'', workflow_json|'', {completed agents...}}:
--   verdict 'run' (detail: leases taken over so far) | 'exhausted' | 'stale' | 'duplicate' | 'cancelled' | 'gone'
NS, CP, NOW = ARGV[1], ARGV[2], tonumber(ARGV[3])
local cid, agent, attempt = ARGV[4], ARGV[5], tonumber(ARGV[6])
local task_id, run, lease_ms, max_takeovers = ARGV[7], ARGV[8], tonumber(ARGV[9]), tonumber(ARGV[10])
SIGNAL_HISTORY = tonumber(ARGV[12])
local key = agent_key(cid, agent)
local status = redis.call('HGET', key, 'status')
local coordination = meta_status(cid)
if not coordination then return {'gone', 'no such coordination', '', '', '', {}} end
if not status then return {'stale', 'not an agent of this coordination', '', '', '', {}} end
local current = tonumber(redis.call('HGET', key, 'attempt') or '0')
if attempt ~= current then return {'stale', status, '', '', '', {}} end
local verdict, detail = 'run', redis.call('HGET', key, 'takeovers') or '0'
if status == 'queued' or status == 'retrying' then
  if coordination ~= 'running' then return {'cancelled', 'coordination ' .. coordination, '', '', '', {}} end
  redis.call('HSET', key, 'status', 'running', 'started_ms', NOW)
elseif status == 'running' then
  if map_running(key) then return {'duplicate', 'its items run (map)', '', '', '', {}} end
  if tonumber(redis.call('HGET', key, 'lease_ms') or '0') > NOW then
    return {'duplicate', 'running under a live lease', '', '', '', {}}
  end
  if coordination ~= 'running' then return {'cancelled', 'coordination ' .. coordination, '', '', '', {}} end
  detail = tostring(redis.call('HINCRBY', key, 'takeovers', 1))
  if tonumber(detail) > max_takeovers then verdict = 'exhausted' end
else
  return {'duplicate', status, '', '', '', {}}
end
redis.call('HSET', key, 'task_id', task_id, 'run', run, 'lease_ms', NOW + lease_ms)
agent_due(cid, agent, NOW + lease_ms)
if verdict == 'exhausted' then return {verdict, detail, '', '', '', {}} end
signal_emit_one(cid, {ARGV[13], ARGV[14], ARGV[15], ARGV[16], ARGV[17], ARGV[18], ARGV[19], ARGV[20]})
local workflow = ''
if ARGV[11] == '1' then workflow = redis.call('GET', coord_key(cid, 'workflow')) or '' end
return {verdict, detail, redis.call('HGET', coord_key(cid, 'contexts'), agent) or '',
  redis.call('GET', coord_key(cid, 'input')) or '', workflow, redis.call('SMEMBERS', coord_key(cid, 'completed'))}
