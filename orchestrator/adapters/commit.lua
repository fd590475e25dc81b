-- One event's atomic step for one root entity (every key shares the root's hash tag).
-- KEYS: state, applied, outbox, audit, then one children-index hash per child link
-- ARGV: event_id, builds_on, expected_version, dedup_ttl_s, audit_maxlen, has_entity (0|1), n_audit, n_links,
--       [entity], child links (field, status for each), audit records (n_audit of them), outbox messages (the rest)
-- builds_on: the event (earlier in the same pipeline) whose write this request was decided on, or ''.
-- Returns {code, outbox length}: code 0 = applied, 1 = duplicate, 2 = conflict.
local state_key, applied_key, outbox_key, audit_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local event_id, builds_on = ARGV[1], ARGV[2]

if redis.call('SISMEMBER', applied_key, event_id) == 1 then
  return {1, redis.call('LLEN', outbox_key)}
end

local head = redis.call('GETRANGE', state_key, 0, 20)
local stored = tonumber(string.match(head, '^(%d+)|') or '0')
local expected = tonumber(ARGV[3])
local lost_base = builds_on ~= '' and redis.call('SISMEMBER', applied_key, builds_on) == 0
if stored ~= expected or lost_base then
  return {2, redis.call('LLEN', outbox_key)}
end

local has_entity = ARGV[6] == '1'
local n_audit = tonumber(ARGV[7])
local n_links = tonumber(ARGV[8])
local first = 9
if has_entity then
  redis.call('SET', state_key, string.format('%d', expected + 1) .. '|' .. ARGV[9])
  first = 10
end

for i = 1, n_links do
  redis.call('HSET', KEYS[4 + i], ARGV[first], ARGV[first + 1])
  first = first + 2
end

for i = first, first + n_audit - 1 do
  redis.call('XADD', audit_key, 'MAXLEN', '~', ARGV[5], '*', 'r', ARGV[i])
end

local pending = redis.call('LLEN', outbox_key)
for i = first + n_audit, #ARGV, 1000 do
  pending = redis.call('RPUSH', outbox_key, unpack(ARGV, i, math.min(i + 999, #ARGV)))
end

redis.call('SADD', applied_key, event_id)
redis.call('EXPIRE', applied_key, tonumber(ARGV[4]))
return {0, pending}
