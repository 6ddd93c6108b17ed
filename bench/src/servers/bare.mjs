#!/usr/bin/env node
/**
 * The bare baseline: a node:http server doing the beat path's work with no framework. Same work
 * as the backend's route (apps/backend/src/heartbeats/heartbeat.route.ts): read the body,
 * JSON.parse, validate with the same zod `heartbeatSchema`, `InstanceRegistry.applyBeat` (the
 * backend's own class: look up, renew the lease in its timing wheel), reply with the same JSON;
 * plus the same 20 ms lease tick.
 *
 *   --port N               (required)
 *   --no-validate          skip the schema check (shows what validation costs)
 *   --mode null            answer every beat without parsing it (the load tool's ceiling)
 *   --lost-after-ms N      default 15000 (the backend's default)
 *   --socket               also serve socket.io deltas for `watch` subscriptions, like the backend's gateway
 *   --flush-ms N           delta period (default 200, the backend's)
 *   --status-flush-ms N    flush a batch holding a status change after at most N ms
 *                          (default: same as --flush-ms). The design change proposed for expiry.
 */
import { createServer } from 'node:http';
import {
  DEFAULT_LOST_AFTER_MS,
  DEFAULT_REMOVE_AFTER_MS,
  HEARTBEAT_PATH,
  INSTANCES_PATH,
  LIMITS,
  describeIssues,
  heartbeatSchema,
} from '@vigil/protocol';
import { InstanceRegistry } from '@vigil/backend/instance-registry';
import { parseArgs } from '../lib/args.mjs';

const args = parseArgs();
const port = args.number('port', 0);
const validate = !args.has('no-validate');
const nullMode = args.string('mode', 'bare') === 'null';
const lostAfterMs = args.number('lost-after-ms', DEFAULT_LOST_AFTER_MS);
const removeAfterMs = args.number('remove-after-ms', DEFAULT_REMOVE_AFTER_MS);
const LEASE_TICK_MS = 20;
// The backend's registry settings with its defaults (apps/backend/src/instances/registry.module.ts):
// no configured interval, suspect after 2 missed intervals, 20 ms tick, 1 s stall threshold,
// self-preservation from 10 instances at 50 %, 32 arrivals kept.
const registry = new InstanceRegistry(
  {
    timings: { intervalMs: null, lostAfterMs, removeAfterMs },
    suspectAfterIntervals: 2,
    tickMs: LEASE_TICK_MS,
    stallThresholdMs: 1_000,
    selfPreservation: { minInstances: args.number('self-preservation-min', 10), ratio: 0.5 },
    historySize: 32,
    // The first version's constructor took these at the top level.
    lostAfterMs,
    removeAfterMs,
  },
  Date.now(),
);
globalThis[Symbol.for('vigil.bench.probe')]?.attach(registry);
let onTick = () => {};
setInterval(() => {
  registry.tick(Date.now());
  onTick();
}, LEASE_TICK_MS);

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };

function send(res, status, payload) {
  const body = JSON.stringify(payload);
  res.writeHead(status, { ...JSON_HEADERS, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function onBeat(req, res) {
  let body = '';
  let tooLarge = false;
  req.setEncoding('utf8');
  req.on('data', (chunk) => {
    if (tooLarge) return;
    body += chunk;
    if (body.length > LIMITS.beatBodyBytes) tooLarge = true;
  });
  req.on('end', () => {
    if (tooLarge) return send(res, 413, { statusCode: 413, message: 'body too large' });
    if (nullMode) return send(res, 200, { result: 'renewed', serverTime: Date.now() });
    let json;
    try {
      json = JSON.parse(body);
    } catch (error) {
      return send(res, 400, { statusCode: 400, message: `Body is not valid JSON: ${error.message}` });
    }
    let beat = json;
    if (validate) {
      const parsed = heartbeatSchema.safeParse(json);
      if (!parsed.success) return send(res, 400, { error: 'invalid heartbeat', issues: describeIssues(parsed.error) });
      beat = parsed.data;
    }
    const now = Date.now();
    send(res, 200, { result: registry.applyBeat(beat, now), serverTime: now });
  });
}

const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  if (req.method === 'PUT' && req.url === HEARTBEAT_PATH) return onBeat(req, res);
  if (req.method === 'GET' && req.url === '/healthz') return send(res, 200, { ok: true });
  if (req.method === 'GET' && req.url === INSTANCES_PATH) {
    const instances = registry.list();
    return send(res, 200, { instances, total: instances.length });
  }
  if (!req.url?.startsWith('/socket.io')) send(res, 404, { statusCode: 404 });
});

if (args.has('socket')) {
  const { Server } = await import('socket.io');
  const io = new Server(server, { serveClient: false });
  const flushMs = args.number('flush-ms', 200);
  const statusFlushMs = args.number('status-flush-ms', flushMs);
  let upserts = new Map();
  let removed = new Set();
  let beats = new Map();
  let statusChangedAt = 0;
  let lastFlush = Date.now();
  registry.onChange((change) => {
    if (change.type === 'upsert') {
      const id = change.instance.instanceId;
      const before = upserts.get(id);
      upserts.set(id, change.instance);
      removed.delete(id);
      beats.delete(id);
      if (!statusChangedAt && (!before || before.status !== change.instance.status)) statusChangedAt = Date.now();
    } else if (change.type === 'removed') {
      upserts.delete(change.instanceId);
      beats.delete(change.instanceId);
      removed.add(change.instanceId);
    } else if (!upserts.has(change.instanceId)) {
      beats.set(change.instanceId, change.time);
    }
  });
  // The backend's protocol, reduced to `watch` lists: a socket subscribes with the ids it follows
  // and gets, per delta, only those of them that changed (no table windows, counts or events).
  const flush = () => {
    lastFlush = Date.now();
    statusChangedAt = 0;
    if (upserts.size === 0 && removed.size === 0 && beats.size === 0) return;
    for (const socket of io.of('/').sockets.values()) {
      const watch = socket.data.watch;
      if (!watch || watch.size === 0) continue;
      const delta = { upserts: [], removed: [], beats: {}, events: [], serverTime: lastFlush };
      for (const id of watch) {
        const instance = upserts.get(id);
        if (instance) delta.upserts.push(instance);
        else if (removed.has(id)) delta.removed.push(id);
        else if (beats.has(id)) delta.beats[id] = beats.get(id);
      }
      if (delta.upserts.length || delta.removed.length || Object.keys(delta.beats).length) socket.emit('delta', delta);
    }
    upserts = new Map();
    removed = new Set();
    beats = new Map();
  };
  io.on('connection', (socket) => {
    socket.data.watch = new Set();
    socket.on('subscribe', (view, ack) => {
      socket.data.watch = new Set(Array.isArray(view?.watch) ? view.watch.slice(0, 20) : []);
      const watched = [...socket.data.watch].map((id) => registry.get(id)).filter(Boolean);
      if (typeof ack === 'function')
        ack({ ok: true, snapshot: { window: null, watched, counts: null, services: [], plugins: [], serverTime: Date.now() } });
    });
  });
  setInterval(() => {
    if (Date.now() - lastFlush >= flushMs - 1) flush();
  }, flushMs);
  // The proposed change: a batch that holds a status change goes out on the next lease tick.
  if (statusFlushMs < flushMs)
    onTick = () => {
      if (statusChangedAt && Date.now() - statusChangedAt >= statusFlushMs - LEASE_TICK_MS) flush();
    };
}

server.listen(port, '127.0.0.1', () => {
  console.log(`bare server listening on ${server.address().port} (validate=${validate}, mode=${nullMode ? 'null' : 'bare'})`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 500).unref();
  });
}
