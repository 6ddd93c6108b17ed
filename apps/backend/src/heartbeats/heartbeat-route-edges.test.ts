import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BeatHandler } from './beat-handler.js';
import { FASTIFY_SPELLING, LIMIT, SCOPED, beatRouteApps, full, json, light, rejectedBeats } from './heartbeat-route-fixtures.js';
import { exchange, observable, parseAnswers, request } from './raw-http-fixtures.js';

/**
 * `PUT /api/v1/heartbeat` served before Fastify, at its edges: what the access rules, the body
 * limit, the rate limit and bad JSON get; a throwing handler, a client that goes away, a closing
 * application; HTTPS; the events a full beat carries. The whole application runs in this process
 * on a real port and is spoken to over raw sockets (parity with Fastify: heartbeat.route.test.ts).
 */

const { start, release } = beatRouteApps();

describe('PUT /api/v1/heartbeat before Fastify, at its edges', () => {
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
    release(running.app);
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
