-- Settle one pending dependency with a given final status, as its owner decided (seed compatibility: a
-- Dependency assigned to DependencyResolver.pending_dependencies with a final status, or marked resolved through
-- resolved_dependencies). Waiters are woken as for any settlement.
-- ARGV: NS, CP, NOW, cid, id, status ('resolved'|'failed'|'timeout'), settled_by, error_message
-- Returns {status, ready_owner}: the record's own status when it was not pending, 'unknown' when there is none.
NS, CP, NOW = ARGV[1], ARGV[2], tonumber(ARGV[3])
local rec = read_record(coord_key(ARGV[4], 'dep:' .. ARGV[5]))
if rec == nil then
  return {'unknown', ''}
end
if rec['status'] ~= 'pending' then
  return {rec['status'], ''}
end
return {ARGV[6], dep_settle(rec, ARGV[6], ARGV[7], ARGV[8])}
