-- Record a running attempt's progress, or a chunk of the text it streams, and announce it on the coordination's
-- signal stream. Only the attempt that holds the lease writes: a call from a stale attempt (its lease taken over,
-- its outcome recorded, the agent re-run) changes nothing. The agent record keeps the latest progress (fraction,
-- message) and the last `tail` bytes of the streamed text (cut at a character boundary); the signal stream gets at
-- most `max_events` of these events per attempt (later calls update the record only), so a chatty agent cannot
-- grow Redis without bound. A new attempt starts with no progress and no text.
-- KEYS: none (built through keys_lib)
-- ARGV: NS, CP, NOW, cid, agent, attempt, run_token, kind ('progress' | 'stream'), fraction ('' for a chunk),
--       message, text, tail, max_events, history, then the event signal's 8 values (its id gets '.<n>' appended,
--       n = the event's number in the attempt)
-- Returns {'announced', n} | {'recorded', n} (over max_events: on the record only) | {'stale', agent status}
NS, CP, NOW = ARGV[1], ARGV[2], tonumber(ARGV[3])
local cid, agent, attempt, run, kind = ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local tail, max_events = tonumber(ARGV[12]), tonumber(ARGV[13])
SIGNAL_HISTORY = tonumber(ARGV[14])
local key = agent_key(cid, agent)
local status, current, holder, since = unpack(redis.call('HMGET', key, 'status', 'attempt', 'run', 'progress_attempt'))
if status ~= 'running' or current ~= attempt or holder ~= run then return {'stale', tostring(status)} end
if since ~= attempt then
  redis.call('HDEL', key, 'progress', 'progress_msg', 'progress_ms', 'output', 'progress_events')
  redis.call('HSET', key, 'progress_attempt', attempt)
end
if kind == 'progress' then
  redis.call('HSET', key, 'progress', ARGV[9], 'progress_msg', ARGV[10], 'progress_ms', NOW)
else
  local output = (redis.call('HGET', key, 'output') or '') .. ARGV[11]
  if #output > tail then
    output = string.sub(output, -tail)
    -- Never start inside a UTF-8 sequence: drop continuation bytes (0x80-0xBF) left at the front.
    local first = 1
    while first <= #output and string.byte(output, first) >= 128 and string.byte(output, first) < 192 do
      first = first + 1
    end
    output = string.sub(output, first)
  end
  redis.call('HSET', key, 'output', output)
end
local n = redis.call('HINCRBY', key, 'progress_events', 1)
if n > max_events then return {'recorded', n} end
signal_emit_one(cid, {ARGV[15] .. '.' .. n, ARGV[16], ARGV[17], ARGV[18], ARGV[19], ARGV[20], ARGV[21], ARGV[22]})
return {'announced', n}
