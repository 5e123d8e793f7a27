-- Test aid: return the names keys_lib builds, so a test can compare them with coordination/store/keys.py.
-- ARGV: NS, CP, cid, agent, dependency id, target
NS, CP = ARGV[1], ARGV[2]
local cid, agent, dep, target = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
return {
  ns_key('due'), ns_key('agents-due'), ns_key('active'), ns_key('finished'), ns_key('coordinations'),
  ns_key('dep-events'), ns_key('routing'), ns_key('state:data'),
  coord_key(cid, 'meta'), coord_key(cid, 'agents'), agent_key(cid, agent), dep_key(cid, dep),
  coord_key(cid, 'deps'), coord_key(cid, 'agent-pending'), coord_key(cid, 'completed'), coord_key(cid, 'failed'),
  coord_key(cid, 'signals'), coord_key(cid, 'signal-ids'), coord_key(cid, 'signal-order'),
  coord_key(cid, 'signal-metrics'), coord_key(cid, 'contexts'), coord_key(cid, 'context-order'),
  coord_key(cid, 'workflow'), coord_key(cid, 'input'), coord_key(cid, 'logs'),
  waiters_key('agent_completion', cid, target), waiters_key('resource_availability', cid, target),
  waiters_key('quality_gate', cid, target), resource_field(target), gate_field(target),
  waiters_key('resource_availability', cid, target, 'run'), waiters_key('quality_gate', cid, target, 'run'),
  waiters_key('approval', cid, target), coord_key(cid, 'conditions'), coord_key(cid, 'approvals'),
  ns_key('limits'), limit_key(target, 'info'), limit_key(target, 'leases'), limit_key(target, 'starts'),
  limit_key(target, 'waiting'), limit_key(target, 'waiting-until'),
}
