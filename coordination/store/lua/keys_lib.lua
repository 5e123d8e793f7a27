-- The one place Lua spells a key (it mirrors coordination/store/keys.py; tests/integration/test_key_layout.py checks
-- that both build the same names). Prepended to every script that builds keys from prefixes. It also holds due_add,
-- the one write that needs only keys: every script that schedules a dependency check has it from here.
-- A script that includes this sets NS (namespace prefix "R:{N}"), CP (coordination prefix "R:N:coord:") and
-- NOW (ms) first thing; they are locals here because Redis forbids globals in scripts.
local NS, CP, NOW

local function ns_key(suffix)
  return NS .. ':' .. suffix
end

-- The prefix of every key of one coordination (a script touching several of them builds it once).
local function coord_prefix(cid)
  return CP .. '{' .. cid .. '}:'
end

local function coord_key(cid, suffix)
  return coord_prefix(cid) .. suffix
end

local function agent_key(cid, agent)
  return coord_key(cid, 'agent:' .. agent)
end

local function dep_key(cid, id)
  return coord_key(cid, 'dep:' .. id)
end

-- Schedule a dependency in the namespace's due set. A private state's keys expire when idle; the set may have been
-- emptied (and so deleted) by the dependency's own settlement just before, and ZADD makes it again without an
-- expiry: it then lives at least as long as the dependency's record, whose time-to-live is the state's.
local function due_add(score, cid, id)
  local due = ns_key('due')
  redis.call('ZADD', due, score, cid .. '/' .. id)
  local ttl = redis.call('PTTL', dep_key(cid, id))
  if ttl > 0 and redis.call('PTTL', due) < ttl then
    redis.call('PEXPIRE', due, ttl)
  end
end

-- Which waiter sets a dependency type uses ('waiters:<kind>:<target>').
local WAITER_KIND = {agent_completion = 'agent', resource_availability = 'resource', quality_gate = 'gate',
  approval = 'approval'}

-- Does a dependency wait in its coordination's own waiter set (agent completions, approvals, and resources and
-- gates of scope 'run'), or in the namespace's (global resources and gates: the seed API, `scope: global`)?
local function waits_in_coordination(rtype, scope)
  return rtype == 'agent_completion' or rtype == 'approval' or scope == 'run'
end

-- The waiter set of a dependency's target. Per coordination its members are bare dependency ids, namespace-wide
-- "cid/id" (see waiter_member).
local function waiters_key(rtype, cid, target, scope)
  local kind = WAITER_KIND[rtype] or 'gate'
  if waits_in_coordination(rtype, scope) then
    return coord_key(cid, 'waiters:' .. kind .. ':' .. target)
  end
  return ns_key('waiters:' .. kind .. ':' .. target)
end

local function waiter_member(rtype, cid, id, scope)
  if waits_in_coordination(rtype, scope) then return id end
  return cid .. '/' .. id
end

-- Fields the dependency conditions read (seed names: resource_<id>_available, quality_gate_<id>_score): in the
-- namespace's state for global resources and gates, in the coordination's 'conditions' hash for its own.
local function resource_field(id)
  return 'resource_' .. id .. '_available'
end

local function gate_field(id)
  return 'quality_gate_' .. id .. '_score'
end

-- One of a limit key's records (keys.py: Keys.limit): info | leases | starts | waiting | waiting-until.
local function limit_key(key, part)
  return NS .. ':limit:' .. key .. ':' .. part
end
