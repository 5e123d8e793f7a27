-- Appending signals to a coordination's stream, idempotently by signal id (shared by every script that emits).
-- Signal values, in order: signal_id, type, sender, recipients_json, timestamp_iso, sent_at (posix seconds),
-- data_json, meta_json. SIGNAL_HISTORY (the stream cap) is set by the including script.
local SIGNAL_HISTORY

-- The id a signal is stored under: from a coordination's second run on (coord retry: meta 'runs'), '.r<run>' is
-- appended, so a re-run's signals (its end, skips, time-outs, verdicts) are not taken for re-emissions of the
-- earlier run's and the archive (one row per signal id) keeps both. `base` is the coordination's key prefix.
local function signal_run_id(base, id)
  local runs = redis.call('HGET', base .. 'meta', 'runs')
  if runs and runs ~= '1' then return id .. '.r' .. runs end
  return id
end

-- Append one signal unless its id is already in the history; returns the stream entry id, whether it is new and
-- whether it is the first of the coordination's history.
-- Every call here is one more command on the way of each signal to its subscribers (they are woken when the script
-- ends), so the script does only what the history needs: the id index, the entry, and the order that trims it.
local function signal_append(cid, v)
  local base = coord_prefix(cid)
  v[1] = signal_run_id(base, v[1])
  local ids = base .. 'signal-ids'
  local existing = redis.call('HGET', ids, v[1])
  if existing then return existing, false end
  local entry = redis.call('XADD', base .. 'signals', 'MAXLEN', '~', SIGNAL_HISTORY, '*',
    'id', v[1], 'type', v[2], 'sender', v[3], 'to', v[4], 'ts', v[5], 'sent', v[6], 'data', v[7], 'meta', v[8])
  redis.call('HSET', ids, v[1], entry)
  local order = base .. 'signal-order'
  local length = redis.call('RPUSH', order, v[1])
  if length > SIGNAL_HISTORY then
    redis.call('HDEL', ids, redis.call('LPOP', order))
  end
  return entry, true, length == 1
end

-- Count emitted signals, one HINCRBY per type (the total is their sum: streams.py signals_sent).
local function signal_count(cid, signal_type, count)
  redis.call('HINCRBY', coord_key(cid, 'signal-metrics'), 'type:' .. signal_type, count)
end

-- Append and count one signal.
local function signal_emit_one(cid, v)
  local entry, new = signal_append(cid, v)
  if new then signal_count(cid, v[2], 1) end
  return entry, new
end

-- Emit a batch of signals from ARGV (the layout of signal_emit.lua: NS, CP, NOW, cid, max_history, ttl_ms, n, then
-- 10 values per signal; with `offset`, everything after NOW starts that many places later). `settle(agent, success,
-- cause)` is called for each agent a new signal completes (nil: the batch completes none). Returns the stream entry
-- ids, in order.
local function signal_emit_batch(settle, offset)
  local o = offset or 0
  local cid, ttl, n = ARGV[o + 4], tonumber(ARGV[o + 6]), tonumber(ARGV[o + 7])
  SIGNAL_HISTORY = tonumber(ARGV[o + 5])
  local out, by_type, first = {}, {}, false
  for i = 0, n - 1 do
    local b = o + 8 + i * 10
    local values = {ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4], ARGV[b + 5], ARGV[b + 6], ARGV[b + 7]}
    local entry, new, opens = signal_append(cid, values)
    out[#out + 1] = entry
    first = first or opens
    if new then
      by_type[values[2]] = (by_type[values[2]] or 0) + 1
      if settle then
        for agent in string.gmatch(ARGV[b + 8], '%S+') do settle(agent, ARGV[b + 9] == '1', 'signal:' .. values[1]) end
      end
    end
  end
  for signal_type, count in pairs(by_type) do signal_count(cid, signal_type, count) end
  -- The namespace's list of coordinations learns of this one with its first signal (one command less on the way
  -- of every later one); nothing removes a coordination from it without deleting its signal history too.
  if first or ttl > 0 then redis.call('SADD', ns_key('coordinations'), cid) end
  if ttl > 0 then
    for _, suffix in ipairs({'signals', 'signal-ids', 'signal-order', 'signal-metrics', 'completed', 'failed'}) do
      redis.call('PEXPIRE', coord_key(cid, suffix), ttl)
    end
    redis.call('PEXPIRE', ns_key('coordinations'), ttl)
  end
  return out
end
