-- Record the verdict on one approval gate of a coordination, once, and settle the dependencies waiting on it:
-- approved, they resolve (an agent with nothing else pending is queued); rejected, they fail and stay due at once,
-- for the caller (or, if it dies first, beat) to route the rejection (see dep_route_later). Announced by an
-- approval_verdict signal. Everything is checked first: a refusal writes nothing.
-- KEYS: none (built through keys_lib)
-- ARGV: NS, CP, NOW, cid, gate, verdict_json ({"verdict": "approved"|"rejected", "by", "at_ms", "note"}), history,
--       grace_ms, then the approval_verdict signal's 8 values
-- Returns {'recorded', settled "cid/id/status/owner"..., '|', queued "cid/agent/attempt/countdown_ms"...} or a
-- refusal: {'unknown'} (no such coordination), {'finished', status}, {'no-gate', approval gates of it...},
-- {'decided', the verdict JSON recorded before}, {'timed_out', deadline_ms}, {'settled', status}.
NS, CP, NOW = ARGV[1], ARGV[2], tonumber(ARGV[3])
local cid, gate, verdict_json = ARGV[4], ARGV[5], ARGV[6]
SIGNAL_HISTORY = tonumber(ARGV[7])
GRACE_MS = tonumber(ARGV[8])
local status = meta_status(cid)
local deps = coord_key(cid, 'deps')
if not status and redis.call('EXISTS', deps) == 0 then return {'unknown'} end

local gates, waiting = {}, {}
for _, id in ipairs(redis.call('SMEMBERS', deps)) do
  local rec = read_record(dep_key(cid, id))
  if rec ~= nil and rec['type'] == 'approval' then
    gates[rec['target']] = true
    if rec['target'] == gate then waiting[#waiting + 1] = rec end
  end
end
if #waiting == 0 then
  local known = {'no-gate'}
  for name, _ in pairs(gates) do known[#known + 1] = name end
  return known
end
local before = redis.call('HGET', coord_key(cid, 'approvals'), gate)
if before then return {'decided', before} end
if status and status ~= 'running' then return {'finished', status} end

-- Only dependencies still pending and within their time-out take the verdict; one past its deadline has timed
-- out even if beat has not settled it yet.
local live, overdue, other = {}, nil, nil
for _, rec in ipairs(waiting) do
  if rec['status'] == 'pending' and NOW < tonumber(rec['deadline_ms']) then
    live[#live + 1] = rec
  elseif rec['status'] == 'pending' or rec['status'] == 'timeout' then
    overdue = rec['deadline_ms']
  else
    other = rec['status']
  end
end
if #live == 0 then
  if overdue then return {'timed_out', overdue} end
  return {'settled', tostring(other)}
end

redis.call('HSET', coord_key(cid, 'approvals'), gate, verdict_json)
signal_emit_one(cid, {ARGV[9], ARGV[10], ARGV[11], ARGV[12], ARGV[13], ARGV[14], ARGV[15], ARGV[16]})
local by = 'approval:' .. tostring(cjson.decode(verdict_json)['by'])
local reply = {'recorded'}
for _, rec in ipairs(live) do
  local settled, owner = dep_evaluate(rec, by)
  if settled == 'failed' then dep_route_later(rec, NOW) end
  reply[#reply + 1] = cid .. '/' .. rec['id'] .. '/' .. settled .. '/' .. owner
end
reply[#reply + 1] = '|'
for _, item in ipairs(SENDS) do reply[#reply + 1] = item end
return reply
