import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../app.js';
import { loadConfig } from '../config/vigil-config.js';
import { BeatHandler } from './beat-handler.js';
import { HeartbeatRoute } from './heartbeat.route.js';
import { exchange, observable, parseAnswers, request, type Running } from './raw-http-fixtures.js';

/**
 * `PUT /api/v1/heartbeat` is served before Fastify (heartbeat.route.ts, beat-server.ts). These
 * tests run the whole application in this process, listening on a real port, and speak HTTP/1.1
 * over raw sockets so that every status, header and connection close is seen as a client sees it.
 */

const SCOPED = 'scoped-token-0123456789';
const ANY = 'any-token-0123456789abc';
const LIMIT = 262_144;

const apps: NestFastifyApplication[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function start(env: NodeJS.ProcessEnv = {}, tls?: Buffer): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-route-'));
  const app = await createApp(loadConfig({ VIGIL_DATA_DIR: dir, VIGIL_LOG_LEVEL: 'fatal', ...env }));
  apps.push(app);
  const route = app.get(HeartbeatRoute);
  const serve = route.serve.bind(route);
  let served = 0;
  route.serve = (request: IncomingMessage, response: ServerResponse) => {
    const answered = serve(request, response);
    if (answered) served += 1;
    return answered;
  };
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.getHttpServer().address() as { port: number }).port;
  return { app, port, served: () => served, tls };
}

const json = { 'content-type': 'application/json' };
const full = (instanceId: string, service = 'orders-api') =>
  JSON.stringify({
    v: 1,
    kind: 'full',
    instanceId,
    heartbeatTime: Date.now(),
    lastHeartbeatTime: null,
    service,
    appName: 'a',
    artifact: 'a',
    appType: 'default',
    hostName: 'h',
    ip: ['10.0.0.1'],
    processId: 1,
    dynamicInstall: false,
    version: '1',
    plugins: [],
  });
const light = (instanceId: string) =>
  JSON.stringify({ v: 1, kind: 'light', instanceId, heartbeatTime: Date.now(), lastHeartbeatTime: null });

async function rejectedBeats(running: Running): Promise<number> {
  const { answers } = await exchange(running, [request('GET', '/metrics', {})]);
  return Number(/^vigil_beats_rejected_total (\d+)$/m.exec(answers[0]!.body)?.[1]);
}

/**
 * Requests whose answers must not depend on which of the two ways serves them. Each makes the
 * bytes for a path and a fresh instance id.
 */
const cases: Array<[string, (path: string, id: string) => Array<string | number>, ('tokens' | 'protected')?]> = [
  [
    'a full beat, then a light one on the same connection',
    (p, id) => [request('PUT', p, json, full(id)) + request('PUT', p, json, light(id))],
  ],
  ['a light beat of an unknown instance', (p, id) => [request('PUT', p, json, light(id))]],
  ['a query string', (p, id) => [request('PUT', `${p}?debug=1`, json, full(id))]],
  ['application/json; charset=utf-8', (p, id) => [request('PUT', p, { 'content-type': 'application/json; charset=utf-8' }, full(id))]],
  [
    'a chunked body',
    (p, id) => {
      const b = full(id);
      return [request('PUT', p, { ...json, 'transfer-encoding': 'chunked' }, '') + `${b.length.toString(16)}\r\n${b}\r\n0\r\n\r\n`];
    },
  ],
  [
    'a body in two pieces',
    (p, id) => {
      const b = full(id);
      return [
        request('PUT', p, json, undefined).replace('\r\n\r\n', `\r\ncontent-length: ${b.length}\r\n\r\n`) + b.slice(0, 20),
        30,
        b.slice(20),
      ];
    },
  ],
  ['malformed JSON, then a pipelined beat', (p, id) => [request('PUT', p, json, '{"v":1,') + request('PUT', p, json, full(id))]],
  ['JSON with trailing bytes', (p) => [request('PUT', p, json, '{"v":1}x')]],
  ['an empty body', (p) => [request('PUT', p, json, '')]],
  ['__proto__ in the body', (p) => [request('PUT', p, json, '{"v":1,"__proto__":{"x":1}}')]],
  ['constructor.prototype in the body', (p) => [request('PUT', p, json, '{"v":1,"constructor":{"prototype":{"x":1}}}')]],
  ['a byte-order mark', (p, id) => [request('PUT', p, json, `\uFEFF${full(id)}`)]],
  ['an escaped __proto__ key', (p) => [request('PUT', p, json, '{"v":1,"\\u005f_proto__":{"x":1}}')]],
  ['an escaped character elsewhere', (p, id) => [request('PUT', p, json, full(id).replace('"h"', '"\\u0068"'))]],
  [
    '__proto__ and constructor as values, not keys',
    (p, id) => [request('PUT', p, json, full(id).replace('"h"', '"__proto__ constructor"'))],
  ],
  [
    'a constructor key without a prototype',
    (p, id) => [request('PUT', p, json, full(id).replace('"plugins":[]', '"plugins":[],"constructor":{"x":1}'))],
  ],
  ['JSON that is not an object', (p) => [request('PUT', p, json, '[1,2]')]],
  [
    'a field of the wrong type',
    (p, id) => [
      request('PUT', p, json, JSON.stringify({ v: 1, kind: 'light', instanceId: id, heartbeatTime: 'now', lastHeartbeatTime: null })),
    ],
  ],
  [
    'a body over the limit (content-length), then a pipelined beat',
    (p, id) => [request('PUT', p, json, 'x'.repeat(LIMIT + 1)) + request('PUT', p, json, full(id))],
  ],
  ['a content-length over the limit, without the body', (p) => [request('PUT', p, { ...json, 'content-length': 10 * LIMIT })]],
  [
    'a chunked body over the limit',
    (p) => [
      request('PUT', p, { ...json, 'transfer-encoding': 'chunked' }, '') +
        `${(LIMIT + 1).toString(16)}\r\n${'x'.repeat(LIMIT + 1)}\r\n0\r\n\r\n`,
    ],
  ],
  ['a body exactly at the limit', (p) => [request('PUT', p, json, `"${'x'.repeat(LIMIT - 2)}"`)]],
  [
    'expect: 100-continue',
    (p, id) => {
      const b = full(id);
      return [request('PUT', p, { ...json, expect: '100-continue', 'content-length': b.length }), 50, b];
    },
  ],
  [
    'twelve beats of one instance in a row (rate limit)',
    (p, id) => [request('PUT', p, json, full(id)) + Array.from({ length: 11 }, () => request('PUT', p, json, light(id))).join('')],
  ],
  ['a cross-site Origin', (p, id) => [request('PUT', p, { ...json, origin: 'http://evil.example' }, full(id))]],
  ['Sec-Fetch-Site: cross-site', (p, id) => [request('PUT', p, { ...json, 'sec-fetch-site': 'cross-site' }, full(id))]],
  ['an Origin of this host', (p, id) => [request('PUT', p, { ...json, origin: 'http://127.0.0.1' }, full(id))]],
  ['a relayed request (X-Forwarded-For)', (p, id) => [request('PUT', p, { ...json, 'x-forwarded-for': '203.0.113.7' }, full(id))]],
  ['another Host name (DNS rebinding)', (p, id) => [request('PUT', p, { ...json, host: 'evil.example' }, full(id))]],
  ['no token', (p, id) => [request('PUT', p, json, full(id))], 'tokens'],
  ['no token, with a body over the limit', (p) => [request('PUT', p, json, 'x'.repeat(LIMIT + 1))], 'tokens'],
  ['an unknown token', (p, id) => [request('PUT', p, { ...json, authorization: 'Bearer not-a-token-at-all-000' }, full(id))], 'tokens'],
  ['a Basic authorization', (p, id) => [request('PUT', p, { ...json, authorization: 'Basic YTpi' }, full(id))], 'tokens'],
  ['a scoped token within its prefix', (p, id) => [request('PUT', p, { ...json, authorization: `Bearer ${SCOPED}` }, full(id))], 'tokens'],
  [
    'a scoped token outside its prefix',
    (p, id) => [request('PUT', p, { ...json, authorization: `Bearer ${SCOPED}` }, full(id, 'billing'))],
    'tokens',
  ],
  [
    'a scoped token taking over an instance of another service',
    (p, id) => [
      request('PUT', p, { ...json, authorization: `Bearer ${ANY}` }, full(id, 'billing')) +
        request('PUT', p, { ...json, authorization: `Bearer ${SCOPED}` }, full(id)),
    ],
    'tokens',
  ],
  [
    'a token and a cross-site Origin',
    (p, id) => [request('PUT', p, { ...json, authorization: `Bearer ${ANY}`, origin: 'http://evil.example' }, full(id))],
    'tokens',
  ],
  [
    'a token, relayed',
    (p, id) => [request('PUT', p, { ...json, authorization: `Bearer ${ANY}`, 'x-forwarded-for': '203.0.113.7' }, full(id))],
    'tokens',
  ],
];

/** The same route as Fastify sees it, spelled so that the fast path leaves it to Fastify (find-my-way decodes `%74`). */
const FASTIFY_SPELLING = '/api/v1/heartbea%74';

describe('PUT /api/v1/heartbeat before Fastify', () => {
  for (const mode of ['protected', 'tokens'] as const) {
    it(`answers as Fastify's own route does, in every case (${mode === 'tokens' ? 'agent tokens' : 'protected mode'})`, async () => {
      const running = await start(mode === 'tokens' ? { VIGIL_AGENT_TOKENS: `${SCOPED}:orders-,${ANY}` } : {});
      let n = 0;
      for (const [name, make, only] of cases) {
        if (only !== undefined && only !== mode) continue;
        n += 1;
        const auth = mode === 'tokens' && !/token|authorization/i.test(name) ? { authorization: `Bearer ${ANY}` } : undefined;
        const withAuth = (parts: Array<string | number>) =>
          auth === undefined
            ? parts
            : parts.map((part) =>
                typeof part === 'string' ? part.replace(/^(PUT [^\r]+\r\n)/gm, `$1authorization: ${auth.authorization}\r\n`) : part,
              );
        const before = running.served();
        const fast = observable(await exchange(running, withAuth(make('/api/v1/heartbeat', `case-${n}-fast`))));
        expect(running.served(), `${name}: served before Fastify`).toBeGreaterThan(before);
        const middle = running.served();
        const slow = observable(await exchange(running, withAuth(make(FASTIFY_SPELLING, `case-${n}-slow`))));
        expect(running.served(), `${name}: left to Fastify`).toBe(middle);
        expect(fast, name).toEqual(slow);
      }
    }, 60_000);
  }

  it('refuses what the access rules refuse, the body limit and bad JSON with the statuses, bodies and headers clients rely on', async () => {
    const running = await start({ VIGIL_AGENT_TOKENS: `${SCOPED}:orders-` });
    const put = async (headers: Record<string, string | number>, body?: string) =>
      (await exchange(running, [request('PUT', '/api/v1/heartbeat', { ...json, ...headers }, body)])).answers[0]!;

    const tokenless = await put({}, full('a-1'));
    expect(tokenless.status).toBe(401);
    expect(tokenless.headers['www-authenticate']).toBe('Bearer realm="vigil"');
    expect(JSON.parse(tokenless.body)).toMatchObject({ error: 'agent token required' });
    expect((await put({ authorization: 'Bearer not-a-token-at-all-000' }, full('a-1'))).status).toBe(401);

    const outside = await put({ authorization: `Bearer ${SCOPED}` }, full('a-2', 'billing'));
    expect(outside.status).toBe(403);
    expect(JSON.parse(outside.body)).toEqual({
      error: 'service outside the agent token',
      message: "this token only speaks for services starting with 'orders-'",
    });

    const rejected = await rejectedBeats(running);
    const tooLarge = await exchange(running, [
      request('PUT', '/api/v1/heartbeat', { ...json, authorization: `Bearer ${SCOPED}` }, 'x'.repeat(LIMIT + 1)),
    ]);
    expect(tooLarge.answers[0]).toMatchObject({
      status: 413,
      headers: { connection: 'close', 'content-type': 'application/json; charset=utf-8' },
    });
    expect(JSON.parse(tooLarge.answers[0]!.body)).toEqual({
      error: 'heartbeat too large',
      issues: ['(body): at most 262144 bytes (LIMITS.beatBodyBytes)'],
    });
    expect(tooLarge.closed).toBe(true);

    const malformed = await put({ authorization: `Bearer ${SCOPED}` }, '{"v":1,');
    expect(malformed.status).toBe(400);
    expect(JSON.parse(malformed.body)).toEqual({
      error: 'invalid heartbeat',
      issues: ["(body): Body is not valid JSON but content-type is set to 'application/json'"],
    });
    expect(await rejectedBeats(running)).toBe(rejected + 2);

    const ok = await put({ authorization: `Bearer ${SCOPED}` }, full('a-3'));
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(Number(ok.headers['content-length'])).toBe(Buffer.byteLength(ok.body));
    expect(ok.headers.connection).toBe('keep-alive');
    expect(ok.headers['keep-alive']).toBe('timeout=65');
    expect(JSON.parse(ok.body)).toMatchObject({ result: 'registered' });

    const queried = await exchange(running, [
      request('PUT', '/api/v1/heartbeat?from=agent', { ...json, authorization: `Bearer ${SCOPED}` }, light('a-3')),
    ]);
    expect(JSON.parse(queried.answers[0]!.body)).toMatchObject({ result: 'renewed' });
  });

  it('answers 429 once an instance beats far faster than its interval', async () => {
    const running = await start();
    const beats =
      request('PUT', '/api/v1/heartbeat', json, full('fast-1')) +
      Array.from({ length: 15 }, () => request('PUT', '/api/v1/heartbeat', json, light('fast-1'))).join('');
    const { answers } = await exchange(running, [beats]);
    expect(answers).toHaveLength(16);
    const limited = answers.filter((a) => a.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(JSON.parse(limited[0]!.body)).toEqual({
      error: 'too many beats',
      message: 'instance fast-1 beats far faster than its interval',
      interval: 5000,
    });
  });

  it('leaves other methods on the path, other content types and other paths to Fastify, as before', async () => {
    const running = await start();
    for (const method of ['HEAD', 'OPTIONS', 'GET', 'POST', 'DELETE', 'PATCH']) {
      const { answers } = await exchange(running, [
        request(
          method,
          '/api/v1/heartbeat',
          method === 'HEAD' || method === 'GET' || method === 'OPTIONS' || method === 'DELETE' ? {} : json,
          method === 'POST' || method === 'PATCH' ? full('m-1') : undefined,
        ),
      ]);
      expect(answers[0]!.status, method).toBe(404);
    }
    const plain = await exchange(running, [request('PUT', '/api/v1/heartbeat', { 'content-type': 'text/plain' }, full('t-1'))]);
    expect(plain.answers[0]!.status).toBe(400);
    expect(JSON.parse(plain.answers[0]!.body)).toEqual({
      error: 'invalid heartbeat',
      issues: ['(body): Invalid input: expected object, received string'],
    });
    const untyped = await exchange(running, [request('PUT', '/api/v1/heartbeat', {}, full('t-2'))]);
    expect(untyped.answers[0]!.status).toBe(415);
    const trailing = await exchange(running, [request('PUT', '/api/v1/heartbeat/', json, full('t-3'))]);
    expect(trailing.answers[0]!.status).toBe(404);
    expect((await exchange(running, [request('GET', '/healthz', {})])).answers[0]!.status).toBe(200);
    expect(running.served()).toBe(0);
    // The server keeps the keep-alive timeout of app.ts, and the request timeouts of the config.
    const server = running.app.getHttpServer() as Server;
    expect(server.keepAliveTimeout).toBe(65_000);
    expect([server.headersTimeout, server.requestTimeout]).toEqual([10_000, 30_000]);
  });

  it('answers 500 when the beat handler throws, counts it, and keeps serving on the same connection', async () => {
    const running = await start();
    const beats = running.app.get(BeatHandler);
    const handle = beats.handle.bind(beats);
    let throwNext = true;
    beats.handle = (body, scope, address) => {
      if (throwNext) {
        throwNext = false;
        throw new Error('boom');
      }
      return handle(body, scope, address);
    };
    const rejected = await rejectedBeats(running);
    const { answers, closed } = await exchange(running, [
      request('PUT', '/api/v1/heartbeat', json, full('e-1')) + request('PUT', '/api/v1/heartbeat', json, full('e-1')),
    ]);
    expect(answers.map((a) => a.status)).toEqual([500, 200]);
    expect(JSON.parse(answers[0]!.body)).toEqual({ error: 'invalid heartbeat', issues: ['(body): boom'] });
    expect(closed).toBe(false);
    expect(await rejectedBeats(running)).toBe(rejected + 1);
  });

  it('survives a client that goes away in the middle of a body, and counts the beat as rejected as Fastify did', async () => {
    const running = await start();
    const rejected = await rejectedBeats(running);
    const socket = netConnect(running.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(request('PUT', '/api/v1/heartbeat', { ...json, 'content-length': 1000 }) + '{"v":1,"kind":');
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.destroy();
    await expect.poll(() => rejectedBeats(running)).toBe(rejected + 1);
    const { answers } = await exchange(running, [request('PUT', '/api/v1/heartbeat', json, full('after-abort'))]);
    expect(answers[0]!.status).toBe(200);
  });

  it('answers beats on open connections while the application closes, as Fastify does', async () => {
    const running = await start();
    // Nest closes socket.io (and with it the HTTP server: no new connections) before Fastify, so
    // open keep-alive connections carry beats until they close, on both ways alike.
    const open = async (path: string) => {
      const socket = netConnect(running.port, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.on('error', () => {});
      return { socket, path, text: () => text };
    };
    const connections = [await open('/api/v1/heartbeat'), await open(FASTIFY_SPELLING)];
    // Each connection is busy (a beat's body still on its way) when the close starts, so it is not closed as idle.
    const body = (c: { path: string }) => full(`closing-${c.path.length}`);
    for (const c of connections) c.socket.write(request('PUT', c.path, json, body(c)).slice(0, -10));
    await expect.poll(() => running.served()).toBe(1);
    const closing = running.app.close();
    apps.splice(apps.indexOf(running.app), 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (const c of connections) c.socket.write(body(c).slice(-10) + request('PUT', c.path, json, light(`closing-${c.path.length}`)));
    for (const c of connections) await expect.poll(c.text).toContain('"result":"renewed"');
    const [fast, slow] = connections.map((c) => observable({ answers: parseAnswers(c.text()), closed: false }));
    expect(fast).toEqual(slow);
    for (const c of connections) c.socket.destroy();
    await closing;
    expect(running.served()).toBe(2);
  });

  it('serves beats over HTTPS with VIGIL_TLS_CERT/KEY, before Fastify as over HTTP', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-route-tls-'));
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    const running = await start({ VIGIL_TLS_CERT: cert, VIGIL_TLS_KEY: key }, readFileSync(cert));
    const { answers } = await exchange(running, [
      request('PUT', '/api/v1/heartbeat', json, full('tls-1')) + request('PUT', '/api/v1/heartbeat', json, 'x'.repeat(LIMIT + 1)),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 413]);
    expect(JSON.parse(answers[0]!.body)).toMatchObject({ result: 'registered' });
    expect(running.served()).toBe(2);
    const instances = await exchange(running, [request('GET', '/api/v1/instances', {})]);
    expect(JSON.parse(instances.answers[0]!.body).instances.map((i: { instanceId: string }) => i.instanceId)).toEqual(['tls-1']);
    // Plain HTTP to the TLS port is not served.
    const plain = await exchange({ ...running, tls: undefined }, [request('PUT', '/api/v1/heartbeat', json, full('tls-2'))]);
    expect(plain.answers).toEqual([]);
  });
  it('records the events a full beat carries once the instance is registered, and says so (eventsTaken); none on a beat without them', async () => {
    const running = await start();
    const started = { time: Date.now(), level: 'normal', type: 'agent.started', message: 'vigil agent started' };
    const withEvents = JSON.stringify({ ...JSON.parse(full('ev-1')), events: [started], dropped: 2 });
    const { answers } = await exchange(running, [
      request('PUT', '/api/v1/heartbeat', json, withEvents) + request('PUT', '/api/v1/heartbeat', json, full('ev-2')),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    expect(JSON.parse(answers[0]!.body)).toMatchObject({ result: 'registered', eventsTaken: true });
    expect(JSON.parse(answers[1]!.body).eventsTaken).toBeUndefined();
    const events = await exchange(running, [request('GET', '/api/v1/events?instanceId=ev-1&origin=agent', {})]);
    expect(JSON.parse(events.answers[0]!.body).events).toMatchObject([
      { type: 'agent.started', message: 'vigil agent started', service: 'orders-api' },
    ]);
    const dropped = await exchange(running, [request('GET', '/api/v1/events?instanceId=ev-1&type=agent.events-dropped', {})]);
    expect(JSON.parse(dropped.answers[0]!.body).events).toMatchObject([{ attributes: { dropped: '2' } }]);
    // Invalid events make the whole beat invalid, as in a batch.
    const invalid = JSON.stringify({ ...JSON.parse(full('ev-3')), events: [{ ...started, type: 'Not Dotted' }] });
    expect((await exchange(running, [request('PUT', '/api/v1/heartbeat', json, invalid)])).answers[0]!.status).toBe(400);
  });
});
