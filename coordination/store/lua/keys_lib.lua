-- The one place Lua spells a key (it mirrors coordination/store/keys.py; tests/unit/test_keys_lua.py checks
-- that both build the same names). Prepended to every script that builds keys from prefixes.
-- A script that includes this sets NS (namespace prefix "R:{N}"), CP (coordination prefix "R:N:coord:") and
-- NOW (ms) first thing; they are locals here because Redis forbids globals in scripts.
local NS, CP, NOW

local function ns_key(suffix)
  return NS .. ':' .. suffix
end

local function coord_key(cid, suffix)
  return CP .. '{' .. cid .. '}:' .. suffix
end

local function agent_key(cid, agent)
  return coord_key(cid, 'agent:' .. agent)
end

local function dep_key(cid, id)
  return coord_key(cid, 'dep:' .. id)
end

local function waiters_key(rtype, cid, target)
  if rtype == 'agent_completion' then
    return coord_key(cid, 'waiters:agent:' .. target)
  elseif rtype == 'resource_availability' then
    return ns_key('waiters:resource:' .. target)
  end
  return ns_key('waiters:gate:' .. target)
end

-- State fields the dependency conditions read (seed names: resource_<id>_available, quality_gate_<id>_score).
local function resource_field(id)
  return 'resource_' .. id .. '_available'
end

local function gate_field(id)
  return 'quality_gate_' .. id .. '_score'
end
