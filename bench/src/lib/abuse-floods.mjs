/**
 * The floods of bench:abuse (issue 17's attacks), each against a running backend for a bounded
 * time, on loopback only. Each returns what it sent and how it was answered:
 * `{ sent, statuses: { [code]: n }, samples: { [code]: body }, notes: string[] }`.
 */
import { request as httpRequest, Agent } from 'node:http';
import { connect } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { EVENTS_PATH, HEARTBEAT_PATH } from '@vigil/protocol/constants';

/** The dashboard's login route (@vigil/protocol's AUTH_PATH, which its constants entry does not export). */
const AUTH_PATH = '/api/v1/auth';
import { identity } from './beats.mjs';
import { sleep } from './processes.mjs';

const WIDE = '中';

/** Answers tallied by status, with the first body of each status kept as a sample. */
export class Tally {
  constructor() {
    this.sent = 0;
    this.statuses = {};
    this.samples = {};
    this.notes = [];
  }

  add(status, body) {
    this.statuses[status] = (this.statuses[status] ?? 0) + 1;
    if (!(status in this.samples)) this.samples[status] = String(body ?? '').slice(0, 160);
  }

  count(predicate) {
    return Object.entries(this.statuses).reduce((n, [status, c]) => n + (predicate(Number(status)) ? c : 0), 0);
  }
}

/**
 * One HTTP request; resolves `{ status, body }`, or `{ status: 'error', body: code }` when the
 * connection failed (a refusal by closing is an answer too, and is counted as such).
 */
export function send(base, { method = 'GET', path, headers = {}, body, agent, localAddress, timeoutMs = 30_000 }) {
  const url = new URL(path, base);
  return new Promise((resolve) => {
    const payload = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method,
        path: url.pathname + url.search,
        agent,
        localAddress,
        headers: {
          ...(payload !== undefined && { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
          ...headers,
        },
        signal: AbortSignal.timeout(timeoutMs),
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (e) => resolve({ status: 'error', body: e.code ?? e.message }));
      },
    );
    req.on('error', (e) => resolve({ status: 'error', body: e.code ?? e.name ?? e.message }));
    req.end(payload);
  });
}

/** Runs `worker(i)` on `concurrency` loops until `untilMs` (performance.now()) passes. */
async function loop(concurrency, untilMs, worker) {
  let i = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < untilMs) await worker(i++);
    }),
  );
}

const bearer = (token) => ({ authorization: `Bearer ${token}` });

/** A full beat of `service` (the fleet bench's identity fields, no plugins unless `fields` brings some). */
export function fullBeat(instanceId, service, fields = {}) {
  return {
    v: 1,
    kind: 'full',
    heartbeatTime: Date.now(),
    lastHeartbeatTime: null,
    ...identity(instanceId, 0),
    service,
    artifact: service,
    plugins: [],
    ...fields,
  };
}

/** 1. Event batches of 9 wide events (4,096 x '中' messages, 32 attributes of 1,000 x '中'): ~1 MiB each. */
export async function floodEvents({ url, token, durationMs, connections = 4 }) {
  const tally = new Tally();
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const instanceId = `orders-abuse-events-${process.pid}`;
  const registered = await send(url, {
    method: 'PUT',
    path: HEARTBEAT_PATH,
    headers: bearer(token),
    body: fullBeat(instanceId, 'orders-abuse'),
    agent,
  });
  tally.notes.push(`own instance registered: ${registered.status}`);
  const attributes = Object.fromEntries(Array.from({ length: 32 }, (_, k) => [`a${k}`, WIDE.repeat(1000)]));
  const event = { time: Date.now(), level: 'normal', type: 'abuse.wide', message: WIDE.repeat(4096), attributes };
  const batch = JSON.stringify({ v: 1, instanceId, events: Array.from({ length: 9 }, () => event), dropped: 0 });
  tally.notes.push(`batch ${(Buffer.byteLength(batch) / 1024).toFixed(0)} KiB`);
  await loop(connections, performance.now() + durationMs, async () => {
    tally.sent++;
    const r = await send(url, { method: 'POST', path: EVENTS_PATH, headers: bearer(token), body: batch, agent });
    tally.add(r.status, r.body);
  });
  agent.destroy();
  return tally;
}

/** 2. Full beats of new instance ids, as fast as the backend answers. */
export async function floodNewInstances({ url, token, durationMs, connections = 16 }) {
  const tally = new Tally();
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const run = `${process.pid}-${Date.now().toString(36)}`;
  await loop(connections, performance.now() + durationMs, async (i) => {
    tally.sent++;
    const r = await send(url, {
      method: 'PUT',
      path: HEARTBEAT_PATH,
      headers: bearer(token),
      body: fullBeat(`orders-new-${run}-${i}`, 'orders-flood'),
      agent,
    });
    tally.add(r.status, r.body);
  });
  agent.destroy();
  return tally;
}

/** 3. Full beats of ~238 KB each (128 plugins with large ext-info), each for a new id. */
export async function floodWideBeats({ url, token, durationMs, connections = 4 }) {
  const tally = new Tally();
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const plugins = Array.from({ length: 128 }, (_, k) => ({
    name: `plugin-${k}`,
    version: '1.0.0',
    extInfo: { a: 'x'.repeat(900), b: 'y'.repeat(900) },
  }));
  const run = `${process.pid}-${Date.now().toString(36)}`;
  const sample = JSON.stringify(fullBeat(`orders-wide-${run}-0`, 'orders-wide', { plugins }));
  tally.notes.push(`beat ${(Buffer.byteLength(sample) / 1024).toFixed(0)} KiB`);
  await loop(connections, performance.now() + durationMs, async (i) => {
    tally.sent++;
    const r = await send(url, {
      method: 'PUT',
      path: HEARTBEAT_PATH,
      headers: bearer(token),
      body: fullBeat(`orders-wide-${run}-${i}`, 'orders-wide', { plugins }),
      agent,
    });
    tally.add(r.status, r.body);
  });
  agent.destroy();
  return tally;
}

/**
 * 4. `attempts` concurrent wrong passwords from 127.0.0.1, then the right password from
 * 127.0.0.1 (the attacker's address) and from 127.0.0.2 (another user's).
 */
export async function floodLogin({ url, password, attempts = 1500 }) {
  const tally = new Tally();
  const path = `${AUTH_PATH}/login`;
  const results = await Promise.all(
    Array.from({ length: attempts }, () => {
      tally.sent++;
      return send(url, {
        method: 'POST',
        path,
        body: { password: 'wrong-password' },
        headers: { connection: 'close' },
        localAddress: '127.0.0.1',
      });
    }),
  );
  for (const r of results) tally.add(r.status, r.body);
  const attacker = await send(url, {
    method: 'POST',
    path,
    body: { password },
    headers: { connection: 'close' },
    localAddress: '127.0.0.1',
  });
  const other = await send(url, { method: 'POST', path, body: { password }, headers: { connection: 'close' }, localAddress: '127.0.0.2' });
  tally.notes.push(`right password from the attacker's address: ${attacker.status}; from another address: ${other.status}`);
  tally.otherUser = other.status;
  return tally;
}

/** 5. Login POSTs that promise 100 bytes, send 4 and close. */
export async function floodAbortedBodies({ port, count = 1000, concurrency = 50 }) {
  const tally = new Tally();
  const head = `POST ${AUTH_PATH}/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"pa`;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next++;
        tally.sent++;
        await new Promise((resolve) => {
          const socket = connect({ host: '127.0.0.1', port }, () => socket.write(head, () => setImmediate(() => socket.destroy())));
          socket.on('close', resolve);
          socket.on('error', () => {});
        });
        tally.add('aborted', '');
      }
    }),
  );
  return tally;
}

/**
 * 6. Bodies sent one byte a second (login, Nacos registration, the beat PUT with a wrong
 * token): counts the connections the server closed within `durationMs`.
 */
export async function floodSlowBodies({ port, durationMs, perRoute = 20 }) {
  const tally = new Tally();
  const routes = [
    `POST ${AUTH_PATH}/login HTTP/1.1\r\nContent-Type: application/json`,
    'POST /nacos/v1/ns/instance HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded',
    `PUT ${HEARTBEAT_PATH} HTTP/1.1\r\nContent-Type: application/json\r\nAuthorization: Bearer not-a-token-of-this-backend`,
  ];
  const sockets = [];
  const started = performance.now();
  const closedAfter = [];
  for (const route of routes) {
    for (let k = 0; k < perRoute; k++) {
      const socket = connect({ host: '127.0.0.1', port });
      socket.on('error', () => {});
      socket.write(`${route}\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n`);
      socket.on('close', () => closedAfter.push(performance.now() - started));
      sockets.push(socket);
      tally.sent++;
    }
  }
  const drip = setInterval(() => {
    for (const s of sockets) if (!s.destroyed) s.write('a');
  }, 1000);
  const until = started + durationMs;
  while (performance.now() < until && closedAfter.length < sockets.length) await sleep(100);
  clearInterval(drip);
  const open = sockets.filter((s) => !s.destroyed).length;
  for (const s of sockets) s.destroy();
  tally.add('closed by the server', '');
  tally.statuses['closed by the server'] = sockets.length - open;
  tally.statuses['still open at the end'] = open;
  if (closedAfter.length)
    tally.notes.push(`last closed after ${(Math.max(...closedAfter.slice(0, sockets.length - open)) / 1000).toFixed(1)} s`);
  tally.stillOpen = open;
  return tally;
}

/**
 * 7. Nacos registrations of persistent instances whose HTTP probe aims at a loopback target
 * (127.0.0.3, not the registering client's address) with a side-effect path; counts the requests
 * the target gets.
 */
export async function floodProbes({ url, token, durationMs, registrations = 3000, connections = 16 }) {
  const tally = new Tally();
  let hits = 0;
  const paths = new Set();
  const target = createHttpServer((req, res) => {
    hits++;
    paths.add(req.url);
    res.end('ok');
  });
  await new Promise((resolve) => target.listen(0, '127.0.0.3', resolve));
  const targetPort = target.address().port;
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const metadata = JSON.stringify({
    'preserved.health.checker': 'http',
    'preserved.health.path': '/admin/delete-everything?confirm=yes',
  });
  let next = 0;
  const registeredAt = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (next < registrations) {
        const i = next++;
        tally.sent++;
        const form = new URLSearchParams({
          serviceName: 'orders-probe',
          ip: '127.0.0.3',
          port: String(targetPort),
          ephemeral: 'false',
          clusterName: `c${i}`,
          metadata,
          accessToken: token,
        }).toString();
        const r = await send(url, {
          method: 'POST',
          path: '/nacos/v1/ns/instance',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: form,
          agent,
        });
        tally.add(r.status, r.body);
      }
    }),
  );
  const hitsAtRegistration = hits;
  await sleep(Math.max(0, durationMs - (performance.now() - registeredAt)));
  agent.destroy();
  await new Promise((resolve) => target.close(resolve));
  target.closeAllConnections?.();
  tally.targetHits = hits;
  tally.notes.push(
    `target got ${hits} requests (${hits - hitsAtRegistration} after the registrations), paths: ${[...paths].slice(0, 3).join(', ') || 'none'}`,
  );
  return tally;
}

/**
 * 8. 15 instances of a scoped token that claim an interval of 100 ms and a 30-day timeout, then
 * go silent (the caller checks they did not push the fleet into self-preservation).
 */
export async function floodSelfPreservation({ url, token, durationMs }) {
  const tally = new Tally();
  const metadata = { 'preserved.heart.beat.interval': '100', 'preserved.heart.beat.timeout': String(30 * 86_400_000) };
  for (let i = 0; i < 15; i++) {
    tally.sent++;
    const r = await send(url, {
      method: 'PUT',
      path: HEARTBEAT_PATH,
      headers: bearer(token),
      body: fullBeat(`orders-sp-${process.pid}-${i}`, 'orders-sp', { metadata }),
    });
    tally.add(r.status, r.body);
  }
  await sleep(durationMs);
  return tally;
}
