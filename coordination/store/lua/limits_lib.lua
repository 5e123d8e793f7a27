-- Per-key limits (concurrency, rate, tokens) shared by every worker and coordination of a namespace.
-- An agent's resolved limits are a JSON list on its record (field 'limits', written at submission): each item has
-- key and, when declared, concurrency, rate/rate_n/rate_ms, tokens/tokens_n/tokens_ms. An agent without limits has
-- no such field: every function below then costs one HGET inside the script that calls it, no round trip.
-- Per limit key K (keys_lib's limit_key):
--   leases         zset "cid/agent" -> lease end (ms); expired entries are dropped, so a dead worker's slot frees
--                  itself when its attempt's lease would have ended (renewed with the attempt's lease)
--   starts         zset of start entries -> start time (ms): the sliding window of the rate limit; a deferred
--                  attempt's reservation ("cid/agent") sits there at its reserved time until it starts
--   waiting        zset "cid/agent" -> ticket time (ms): deferred attempts, oldest first; free slots go to the
--                  oldest waiters (FIFO across coordinations)
--   waiting-until  zset "cid/agent" -> by when the deferred attempt must come back, else its ticket is dropped
--   info           hash: the declared limits (concurrency, rate, tokens, ..._n, ..._ms), tat (token bucket: when
--                  the tokens used so far will have drained, ms), seq, started, deferred, tokens_used (totals)
-- Requires keys_lib (NS, NOW, agent_key, limit_key).

-- Limit keys idle this long lose their records (templated keys such as tenant:<id> must not pile up forever).
local LIMIT_IDLE_MS = 86400000
-- Back-off of an attempt waiting for a concurrency slot, per turn of the slots ahead of it, and its longest.
local LIMIT_BACKOFF_MS, LIMIT_BACKOFF_MAX_MS = 150, 3000
-- A rate reservation counts as due this much before its time (clocks of workers differ a little).
local LIMIT_EARLY_MS = 10

local function limits_of(cid, agent)
  local text = redis.call('HGET', agent_key(cid, agent), 'limits')
  if not text or text == '' then return nil end
  return cjson.decode(text)
end

local function limit_touch(key)
  for _, part in ipairs({'info', 'leases', 'starts', 'waiting', 'waiting-until'}) do
    redis.call('PEXPIRE', limit_key(key, part), LIMIT_IDLE_MS)
  end
end

-- Drop expired leases, starts that left the rate window, and tickets of waiters that did not come back in time.
local function limit_purge(l)
  local key = l['key']
  redis.call('ZREMRANGEBYSCORE', limit_key(key, 'leases'), '-inf', NOW)
  if l['rate_ms'] then
    -- (a start at NOW - rate_ms has just left: windows are (NOW - rate_ms, NOW])
    redis.call('ZREMRANGEBYSCORE', limit_key(key, 'starts'), '-inf', NOW - l['rate_ms'])
  end
  local until_key = limit_key(key, 'waiting-until')
  local stale = redis.call('ZRANGEBYSCORE', until_key, '-inf', '(' .. NOW)
  for _, member in ipairs(stale) do
    redis.call('ZREM', limit_key(key, 'waiting'), member)
    redis.call('ZREM', until_key, member)
  end
end

-- How long `me` must wait for limit `l` (0: it may start now), and which of the limits holds it back.
local function limit_wait(l, me)
  local key = l['key']
  local waiting = limit_key(key, 'waiting')
  local rank = redis.call('ZRANK', waiting, me)
  if not rank then rank = redis.call('ZCARD', waiting) end  -- a newcomer queues behind every waiter
  local wait_ms, kind = 0, ''
  if l['concurrency'] then
    local leases = limit_key(key, 'leases')
    if not redis.call('ZSCORE', leases, me) then
      local concurrency = tonumber(l['concurrency'])
      local free = concurrency - redis.call('ZCARD', leases)
      if rank >= free then
        -- A slot frees when an attempt ends, which nothing predicts: the oldest waiters look again soon, later ones
        -- less often (about once per turn of the slots ahead of them); the caller adds jitter.
        wait_ms, kind = math.min(LIMIT_BACKOFF_MS * (1 + math.floor(rank / concurrency)), LIMIT_BACKOFF_MAX_MS),
          'concurrency'
      end
    end
  end
  if l['rate_n'] then
    -- Rate: at most rate_n starts per rate_ms window, counted at their scheduled times. An attempt over the rate
    -- reserves the next free time (the rate_n-th latest start or reservation plus a window) and comes back then:
    -- waiters keep their order, and the delivery's lateness does not add up from one start to the next.
    local starts = limit_key(key, 'starts')
    local reserved = redis.call('ZSCORE', starts, me)
    local ms = 0
    if reserved then
      ms = tonumber(reserved) - NOW - LIMIT_EARLY_MS  -- 0 or less: its time has come
    else
      local n = tonumber(l['rate_n'])
      local count = redis.call('ZCARD', starts)
      if count >= n then
        local entry = redis.call('ZRANGE', starts, count - n, count - n, 'WITHSCORES')
        local slot = math.max(NOW + 1, tonumber(entry[2]) + tonumber(l['rate_ms']))
        redis.call('ZADD', starts, slot, me)
        ms = slot - NOW
      end
    end
    if ms > 0 and ms > wait_ms then wait_ms, kind = math.ceil(ms), 'rate' end
  end
  if l['tokens_n'] then
    -- Token bucket: tat is when the tokens used so far will have drained at tokens_n per tokens_ms; the limit is
    -- reached while less than one token's room is left (tat further ahead than a period less one token's time).
    local tat = tonumber(redis.call('HGET', limit_key(key, 'info'), 'tat') or '0')
    local per_token = tonumber(l['tokens_ms']) / tonumber(l['tokens_n'])
    local ahead = tat - NOW - tonumber(l['tokens_ms']) + per_token
    if ahead > 0 then
      local ms = math.ceil(ahead)
      if ms > wait_ms then wait_ms, kind = ms, 'tokens' end
    end
  end
  return wait_ms, kind
end

-- Admit an attempt of (cid, agent) under its limits, atomically for all its keys. Returns nil when it may start
-- (its concurrency leases, ending at lease_until, and its rate entries are taken; its tickets dropped), or
-- {wait_ms, key, kind} when it must be deferred (it keeps, or takes, a ticket in the keys that hold it back), or
-- 'superseded' when the attempt was deferred and this delivery (task_id; '' for none) is not the message it was
-- re-sent as.
local function limits_admit(cid, agent, lease_until, task_id)
  local text, expected = unpack(redis.call('HMGET', agent_key(cid, agent), 'limits', 'defer_task'))
  if not text or text == '' then return nil end
  if task_id ~= '' and expected and expected ~= '' and expected ~= task_id then return 'superseded' end
  local limits = cjson.decode(text)
  local me = cid .. '/' .. agent
  local wait_ms, wait_key, wait_kind = 0, '', ''
  local held = {}
  for i, l in ipairs(limits) do
    local key = l['key']
    redis.call('SADD', ns_key('limits'), key)
    redis.call('HSET', limit_key(key, 'info'), 'concurrency', l['concurrency'] or '', 'rate', l['rate'] or '',
      'rate_ms', l['rate_ms'] or '', 'tokens', l['tokens'] or '', 'tokens_n', l['tokens_n'] or '',
      'tokens_ms', l['tokens_ms'] or '')
    limit_purge(l)
    local ms, kind = limit_wait(l, me)
    held[i] = ms > 0
    if ms > wait_ms then wait_ms, wait_key, wait_kind = ms, key, kind end
  end
  if wait_ms > 0 then
    for i, l in ipairs(limits) do
      local key = l['key']
      if held[i] then
        local waiting = limit_key(key, 'waiting')
        if not redis.call('ZSCORE', waiting, me) then
          -- A ticket sorts after every earlier one, even in the same millisecond (equal scores would order the
          -- line by member name, letting a newer waiter pass an older one).
          local last = redis.call('ZRANGE', waiting, -1, -1, 'WITHSCORES')[2]
          local ticket = NOW
          if last and tonumber(last) >= ticket then ticket = tonumber(last) + 0.001 end
          redis.call('ZADD', waiting, ticket, me)
        end
        -- Beat re-sends a deferred attempt whose message is lost after its wait plus a lease: its ticket lasts a
        -- lease longer, so the re-sent message still finds its place in line.
        redis.call('ZADD', limit_key(key, 'waiting-until'), NOW + wait_ms + 2 * (lease_until - NOW), me)
        redis.call('HINCRBY', limit_key(key, 'info'), 'deferred', 1)
      else
        -- Not held back here: no ticket, so it does not stand in line before others on this key meanwhile.
        redis.call('ZREM', limit_key(key, 'waiting'), me)
        redis.call('ZREM', limit_key(key, 'waiting-until'), me)
      end
      limit_touch(key)
    end
    return {wait_ms, wait_key, wait_kind}
  end
  for _, l in ipairs(limits) do
    local key = l['key']
    local info = limit_key(key, 'info')
    redis.call('ZREM', limit_key(key, 'waiting'), me)
    redis.call('ZREM', limit_key(key, 'waiting-until'), me)
    if l['concurrency'] then redis.call('ZADD', limit_key(key, 'leases'), lease_until, me) end
    if l['rate_n'] then
      -- The start is counted at its reserved time if it had one (its member becomes a unique start entry).
      local starts = limit_key(key, 'starts')
      local at = tonumber(redis.call('ZSCORE', starts, me) or NOW)
      redis.call('ZREM', starts, me)
      local seq = redis.call('HINCRBY', info, 'seq', 1)
      redis.call('ZADD', starts, at, me .. '/' .. seq)
    end
    redis.call('HINCRBY', info, 'started', 1)
    limit_touch(key)
  end
  redis.call('HDEL', agent_key(cid, agent), 'waiting_on', 'defer_task')
  return nil
end

-- The attempt's lease was renewed: so are its concurrency leases.
local function limits_renew(cid, agent, lease_until)
  local limits = limits_of(cid, agent)
  if not limits then return end
  for _, l in ipairs(limits) do
    if l['concurrency'] then redis.call('ZADD', limit_key(l['key'], 'leases'), 'XX', lease_until, cid .. '/' .. agent) end
  end
end

-- The attempt ended (settled, closed, cancelled, re-queued by beat): free its concurrency leases, drop its tickets,
-- and let any message of it start it (a deferred attempt's own re-send is no longer the only one).
local function limits_release(cid, agent)
  local limits = limits_of(cid, agent)
  if not limits then return end
  redis.call('HDEL', agent_key(cid, agent), 'defer_task', 'waiting_on')
  local me = cid .. '/' .. agent
  for _, l in ipairs(limits) do
    redis.call('ZREM', limit_key(l['key'], 'leases'), me)
    redis.call('ZREM', limit_key(l['key'], 'starts'), me)  -- a rate reservation it will not use
    redis.call('ZREM', limit_key(l['key'], 'waiting'), me)
    redis.call('ZREM', limit_key(l['key'], 'waiting-until'), me)
  end
end

-- Charge n tokens to every token limit of (cid, agent); count them on every limit key. Returns the keys charged.
local function limits_use_tokens(cid, agent, n)
  local limits = limits_of(cid, agent)
  if not limits then return {} end
  local charged = {}
  for _, l in ipairs(limits) do
    local info = limit_key(l['key'], 'info')
    redis.call('HINCRBY', info, 'tokens_used', n)
    if l['tokens_n'] then
      local tat = math.max(tonumber(redis.call('HGET', info, 'tat') or '0'), NOW)
      tat = tat + n * tonumber(l['tokens_ms']) / tonumber(l['tokens_n'])
      redis.call('HSET', info, 'tat', string.format('%.3f', tat))
      charged[#charged + 1] = l['key']
    end
    limit_touch(l['key'])
  end
  return charged
end

-- Beat re-sends a queued attempt (its message may be lost): a deferred attempt's expected message is then any.
local function limits_resent(cid, agent)
  redis.call('HDEL', agent_key(cid, agent), 'defer_task')
end
