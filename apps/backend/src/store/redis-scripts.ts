/**
 * The Lua scripts of the redis store. Each runs atomically inside Redis, so a replica that dies
 * (or loses its connection) in the middle of one leaves either all of its writes or none.
 *
 * Keys, all under one hash tag `{prefix}` so they share a Redis Cluster slot:
 * - `inst`   hash: instance id -> the instance as JSON (identity, plugins, as last registered or changed)
 * - `lease`  hash: instance id -> lease JSON `{ s: status, since, b: last beat, e: lease end,
 *            x: removal time, l: lost-after ms, h: held by self-preservation 0|1 }`
 * - `due`    sorted set: instance id scored by the deadline of its next timed transition
 * - `feed`   stream of changes for the other replicas' mirrors (`r`: the replica that made them)
 * - `events` capped stream: the event log (`e`: the event as JSON)
 * - `cmds`   hash: instance id -> its pending plugin commands as JSON
 * - `tick`   the time of the last claim by any replica, to notice that nobody could claim
 * - `epoch`  a random marker, to notice that Redis came back empty
 *
 * The TypeScript side writes and reads these values only through redis-codec.ts.
 */

import { LEASE_EVENT_TYPES, luaSentence, removedFor, silentFor } from '../instances/lease-events.js';

/** The keys of a fleet stored under `prefix`. */
export function fleetKeys(prefix: string) {
  const key = (name: string) => `{${prefix}}:${name}`;
  return {
    inst: key('inst'),
    lease: key('lease'),
    due: key('due'),
    feed: key('feed'),
    events: key('events'),
    cmds: key('cmds'),
    tick: key('tick'),
    epoch: key('epoch'),
  };
}

export type FleetKeys = ReturnType<typeof fleetKeys>;

/**
 * Writes a replica's batch of local changes and appends it to the feed.
 * KEYS: due, lease, inst, feed, cmds. ARGV: ops JSON `{ u: [[id, instanceJson, lease, next]],
 * b: [[id, lease, next]], r: [id], q: [[id, commandsJson | null]] }`, replica id, oldest feed id to keep (`MINID`: the feed
 * holds the last seconds, whatever the write rate).
 * A lease older (by last beat) than the stored one is not written: a replica writing back stale
 * state must not undo a newer beat another replica took. Returns the ids of beats for
 * instances Redis does not know (removed, or Redis lost its data): the replica forgets them, so
 * the agent's next beat is answered `unknown` and it re-registers with a full beat.
 */
export const SYNC_SCRIPT = `
local due, leases, insts, feed, cmds = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local ops = cjson.decode(ARGV[1])
local unknown = {}
local function put(id, lease, nextAt)
  local old = redis.call('HGET', leases, id)
  if old and cjson.decode(old).b > lease.b then return end
  redis.call('HSET', leases, id, cjson.encode(lease))
  if nextAt == cjson.null then redis.call('ZREM', due, id) else redis.call('ZADD', due, nextAt, id) end
end
for _, op in ipairs(ops.u) do
  redis.call('HSET', insts, op[1], op[2])
  put(op[1], op[3], op[4])
end
for _, op in ipairs(ops.b) do
  if redis.call('HEXISTS', insts, op[1]) == 1 then put(op[1], op[2], op[3]) else unknown[#unknown + 1] = op[1] end
end
for _, op in ipairs(ops.q or {}) do
  if op[2] == cjson.null then redis.call('HDEL', cmds, op[1]) else redis.call('HSET', cmds, op[1], op[2]) end
end
for _, id in ipairs(ops.r) do
  redis.call('HDEL', insts, id)
  redis.call('HDEL', leases, id)
  redis.call('HDEL', cmds, id)
  redis.call('ZREM', due, id)
end
redis.call('XADD', feed, 'MINID', '~', ARGV[3], '*', 'r', ARGV[2], 'd', ARGV[1])
return unknown
`;

/**
 * Claims every transition due across the fleet, once: whichever replica runs it first moves the
 * members out of (or further along) the deadline set, so no other replica sees them due again.
 * KEYS: due, lease, inst, feed, events, tick, cmds. ARGV: now, cutoff (claim deadlines <= this),
 * limit, replica id, hold (1: expiring now would be a mass expiry, hold instead), events cap,
 * oldest feed id to keep, stall threshold ms, tick ms.
 *
 * The same state machine as the in-memory registry: healthy -> suspect at the suspect
 * deadline, -> lost at the lease's end (or held as suspect once for a further timeout by
 * self-preservation), unhealthy (its beats report its health down) -> lost at the lease's end
 * with no suspect phase, lost/offline -> removed at the removal time. (The beats themselves, and
 * with them healthy <-> unhealthy, are the replica's that takes them, written with the sync script.) When no replica claimed for
 * longer than the stall threshold (Redis was down, or every replica stalled), every deadline is
 * first extended by the gap, as the registry does for a stall of its own: nothing expires
 * because nobody could renew it.
 * Its events' types and sentences are the registry's (instances/lease-events.ts).
 * Returns [changes JSON, events JSON]: what the claiming replica applies to its own mirror and
 * logs (the other replicas get the same from the feed and the events stream).
 */
export const CLAIM_SCRIPT = `
local due, leases, insts, feed, events, tick, cmds = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local now, cutoff, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local replica, hold = ARGV[4], ARGV[5] == '1'
local eventsMax, feedMinId = ARGV[6], ARGV[7]
local stallMs, tickMs = tonumber(ARGV[8]), tonumber(ARGV[9])
local changes, logged = {}, {}
local function event(e)
  e.time = now
  e.origin = 'backend'
  local json = cjson.encode(e)
  redis.call('XADD', events, 'MAXLEN', '~', eventsMax, '*', 'r', replica, 'e', json)
  logged[#logged + 1] = json
end
local last = tonumber(redis.call('GET', tick))
redis.call('SET', tick, now)
if last and now - last > stallMs then
  local gap = now - last - tickMs
  local all = redis.call('ZRANGE', due, 0, -1, 'WITHSCORES')
  for i = 1, #all, 2 do
    local id = all[i]
    redis.call('ZADD', due, tonumber(all[i + 1]) + gap, id)
    local raw = redis.call('HGET', leases, id)
    if raw then
      local l = cjson.decode(raw)
      l.e = l.e + gap
      l.x = l.x + gap
      redis.call('HSET', leases, id, cjson.encode(l))
    end
  end
  event({ level = 'important', type = 'store.stall',
    message = 'no replica could renew leases in Redis for ' .. gap .. ' ms; every lease was extended by that much',
    attributes = { stallMs = tostring(gap) } })
end
local dueNow = redis.call('ZRANGEBYSCORE', due, '-inf', cutoff, 'WITHSCORES', 'LIMIT', 0, limit)
for i = 1, #dueNow, 2 do
  local id, deadline = dueNow[i], tonumber(dueNow[i + 1])
  local raw, inst = redis.call('HGET', leases, id), redis.call('HGET', insts, id)
  if not raw or not inst then
    redis.call('ZREM', due, id)
  else
    local l = cjson.decode(raw)
    local service = cjson.decode(inst).service
    local removed = false
    local function set(status, since)
      l.s = status
      l.since = since
      changes[#changes + 1] = { k = 'st', id = id, s = status, since = since, e = l.e, h = l.h }
    end
    if l.s == 'healthy' and deadline < l.e then
      set('suspect', deadline)
      redis.call('ZADD', due, l.e, id)
      event({ level = 'normal', type = '${LEASE_EVENT_TYPES.suspect}', message = ${luaSentence(silentFor, 'deadline - l.b')},
        instanceId = id, service = service, attributes = {} })
    elseif l.s == 'unhealthy' and deadline < l.e then
      redis.call('ZADD', due, l.e, id)
    elseif l.s == 'healthy' or l.s == 'suspect' or l.s == 'unhealthy' then
      if hold and l.h ~= 1 then
        l.h = 1
        l.e = deadline + l.l
        set('suspect', l.s == 'suspect' and l.since or deadline)
        redis.call('ZADD', due, l.e, id)
      else
        l.h = 0
        set('lost', deadline)
        redis.call('ZADD', due, l.x, id)
        event({ level = 'important', type = '${LEASE_EVENT_TYPES.lost}', message = ${luaSentence(silentFor, 'deadline - l.b')},
          instanceId = id, service = service,
          attributes = { lastHeartbeatTime = tostring(l.b), deadline = tostring(deadline) } })
      end
    elseif now < l.x then
      redis.call('ZADD', due, l.x, id)
    else
      redis.call('HDEL', insts, id)
      redis.call('HDEL', leases, id)
      redis.call('HDEL', cmds, id)
      redis.call('ZREM', due, id)
      removed = true
      changes[#changes + 1] = { k = 'rm', id = id }
      event({ level = 'normal', type = '${LEASE_EVENT_TYPES.removed}', message = ${luaSentence(removedFor, "l.s == 'offline' and 'offline' or 'lost'")},
        instanceId = id, service = service, attributes = {} })
    end
    if not removed then redis.call('HSET', leases, id, cjson.encode(l)) end
  end
end
if #changes > 0 then
  redis.call('XADD', feed, 'MINID', '~', feedMinId, '*', 'r', replica, 'c', cjson.encode(changes))
end
return { cjson.encode(changes), cjson.encode(logged) }
`;
