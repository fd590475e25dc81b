-- One event's atomic step for one root entity (every key shares the root's hash tag).
-- KEYS: state, applied, outbox, audit, in flight, then one children-index hash per child link
-- ARGV: event_id, builds_on (both as the ledger names them, see ledger_id()), expected_version, dedup_ttl_s,
--       audit_maxlen, the new state as stored: '<expected_version + 1>|<entity JSON>' ('' = leave the state),
--       audit (a JSON array of the event's records, '' = none), outbox entry ('' = none),
--       audit_retention_s (0 = no expiry), then the child links (field, status for each)
-- builds_on: the event (earlier in the same pipeline) whose write this request was decided on, or ''.
-- Returns {code, outbox length, events in flight}: code 0 = applied, 1 = duplicate, 2 = conflict.
-- In flight: events sent to this root through Kafka and not yet applied; this one lands (applied or duplicate).
local state_key, applied_key, outbox_key, audit_key, flight_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local event_id, builds_on = ARGV[1], ARGV[2]

-- This event lands: no longer in flight. Returns how many of the root's still are (almost always none:
-- one SCARD of a missing key then).
local function land()
  local flying = redis.call('SCARD', flight_key)
  if flying > 0 then
    flying = flying - redis.call('SREM', flight_key, event_id)
  end
  return flying
end

if redis.call('HEXISTS', applied_key, event_id) == 1 then
  return {1, redis.call('LLEN', outbox_key), land()}
end

-- Versions are compared and numbers passed on as the strings they came in: each string this script makes is
-- hashed whole by Redis's Lua, and each number it passes to redis.call is formatted by snprintf.
local head = redis.call('GETRANGE', state_key, 0, 20)
local stored = string.match(head, '^(%d+)|') or '0'
local lost_base = builds_on ~= '' and redis.call('HEXISTS', applied_key, builds_on) == 0
if stored ~= ARGV[3] or lost_base then
  return {2, redis.call('LLEN', outbox_key), 0}
end

if ARGV[6] ~= '' then
  redis.call('SET', state_key, ARGV[6])
end
if ARGV[7] ~= '' then
  redis.call('XADD', audit_key, 'MAXLEN', '~', ARGV[5], '*', 'a', ARGV[7])
  if ARGV[9] ~= '0' then
    redis.call('EXPIRE', audit_key, ARGV[9])
  end
end
local pending
if ARGV[8] ~= '' then
  pending = redis.call('RPUSH', outbox_key, ARGV[8])
else
  pending = redis.call('LLEN', outbox_key)
end
for i = 1, #KEYS - 5 do
  redis.call('HSET', KEYS[5 + i], ARGV[8 + 2 * i], ARGV[9 + 2 * i])
end

redis.call('HSET', applied_key, event_id, '1')
redis.call('EXPIRE', applied_key, ARGV[4])
return {0, pending, land()}
