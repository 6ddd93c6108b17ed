import 'reflect-metadata';
import { request as httpRequest } from 'node:http';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { describe, expect, it } from 'vitest';
import { testApps } from '../test-support/test-app-fixtures.js';
import { LOGIN_FAILURES_ALLOWED } from './auth.service.js';

/**
 * What `X-Real-IP` (the header nginx's `proxy_set_header X-Real-IP $remote_addr` adds) does, as
 * SECURITY.md and docs/backend.md say: a loopback request carrying it was relayed for someone
 * else, so protected mode refuses it, trusted proxy or not; from a proxy in
 * `VIGIL_TRUSTED_PROXIES` it names the client the login limit counts, from anyone else it is
 * ignored; and a relayed Nacos registration may have only `VIGIL_PROBE_TARGETS` probed.
 * Real routes: the app listening on loopback (a real peer address) or `app.inject` with the
 * peer address set per request.
 */

const PASSWORD = 'correct horse battery staple';
const AGENT = 'agent-token-0123456789abc';

const { start } = testApps('real-ip');

interface Answer {
  status: number;
  body: string;
}

/** One request over a real loopback connection; an accepted WebSocket upgrade answers 101. */
function send(port: number, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port, method, path, headers });
    request.on('response', (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
    });
    request.on('upgrade', (response, socket) => {
      socket.destroy();
      resolve({ status: response.statusCode ?? 0, body: '' });
    });
    request.on('error', reject);
    request.end(body);
  });
}

const json = { 'content-type': 'application/json' };
/** A request of each kind of client the protected mode guards (SECURITY.md's table). */
/** `direct`: the status without the header (the loopback client served; the bodies sent are not valid beats or events: 400). */
const CALLS: Array<{ what: string; method: string; path: string; headers?: Record<string, string>; body?: string; direct: number }> = [
  { what: 'REST', method: 'GET', path: '/api/v1/instances', direct: 200 },
  { what: 'metrics', method: 'GET', path: '/metrics', direct: 200 },
  { what: 'login state', method: 'GET', path: '/api/v1/auth/session', direct: 200 },
  { what: 'socket.io handshake', method: 'GET', path: '/socket.io/?EIO=4&transport=polling', direct: 200 },
  { what: 'Nacos', method: 'GET', path: '/nacos/v1/ns/service/list?pageNo=1&pageSize=10', direct: 200 },
  { what: 'beat PUT (served before Fastify)', method: 'PUT', path: '/api/v1/heartbeat', headers: json, body: '{}', direct: 400 },
  { what: 'event batch', method: 'POST', path: '/api/v1/events', headers: json, body: '{}', direct: 400 },
  {
    what: 'beat socket upgrade',
    method: 'GET',
    path: '/api/v1/heartbeat/socket',
    headers: {
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-version': '13',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    },
    direct: 101,
  },
];

describe('X-Real-IP in protected mode', () => {
  for (const trusted of [undefined, '127.0.0.1,::1'] as const) {
    it(`refuses a loopback request carrying X-Real-IP as a remote one, on every kind of route${trusted ? ', even from a trusted proxy' : ''}`, async () => {
      const app = await start(trusted ? { VIGIL_TRUSTED_PROXIES: trusted } : {});
      await app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = app.getHttpServer().address() as { port: number };
      for (const call of CALLS) {
        // Without the header, the loopback client is served.
        const direct = await send(port, call.method, call.path, call.headers ?? {}, call.body);
        expect(direct.status, `${call.what} direct: ${direct.body}`).toBe(call.direct);
        // Relayed, for a remote client or one claiming to be loopback itself: refused, saying how to open access.
        for (const client of ['203.0.113.9', '127.0.0.1']) {
          const relayed = await send(port, call.method, call.path, { ...call.headers, 'x-real-ip': client }, call.body);
          expect(relayed.status, `${call.what} relayed for ${client}`).toBe(403);
          if (call.what !== 'socket.io handshake') {
            expect(JSON.parse(relayed.body), call.what).toMatchObject({
              error: 'protected mode',
              message: expect.stringContaining('VIGIL_AGENT_TOKENS'),
            });
          }
        }
      }
      // Health checks stay open.
      expect((await send(port, 'GET', '/healthz', { 'x-real-ip': '203.0.113.9' })).status).toBe(200);
    });
  }
});

describe('X-Real-IP and the login limit', () => {
  const login = (app: NestFastifyApplication, password: string, remoteAddress: string, realIp: string) =>
    app.inject({ method: 'POST', url: '/api/v1/auth/login', remoteAddress, headers: { 'x-real-ip': realIp }, payload: { password } });

  it('from a trusted proxy counts the client X-Real-IP names: its guesser gets 429, others through the proxy log in', async () => {
    const app = await start({ VIGIL_ADMIN_PASSWORD: PASSWORD, VIGIL_TRUSTED_PROXIES: '10.0.0.0/8' });
    for (let i = 0; i < LOGIN_FAILURES_ALLOWED; i += 1)
      expect((await login(app, 'wrong password, guessed', '10.1.2.3', '203.0.113.7')).statusCode).toBe(401);
    const limited = await login(app, PASSWORD, '10.1.2.3', '203.0.113.7');
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // The same guesser through another replica of the proxy is still the same client.
    expect((await login(app, PASSWORD, '10.9.9.9', '203.0.113.7')).statusCode).toBe(429);
    // Another client through the same proxy, IPv6 included, logs in.
    expect((await login(app, PASSWORD, '10.1.2.3', '198.51.100.3')).statusCode).toBe(200);
    expect((await login(app, PASSWORD, '10.1.2.3', '2001:db8::3')).statusCode).toBe(200);
  });

  it('from a peer that is not a trusted proxy is ignored: the peer is the client, whatever it names', async () => {
    const app = await start({ VIGIL_ADMIN_PASSWORD: PASSWORD, VIGIL_TRUSTED_PROXIES: '10.0.0.0/8' });
    for (let i = 0; i < LOGIN_FAILURES_ALLOWED; i += 1) {
      expect((await login(app, 'wrong password, guessed', '192.0.2.20', `198.51.100.${i}`)).statusCode).toBe(401);
    }
    expect((await login(app, PASSWORD, '192.0.2.20', '198.51.100.200')).statusCode).toBe(429);
    // And it cannot lock out the client it names.
    expect((await login(app, PASSWORD, '10.1.2.3', '198.51.100.0')).statusCode).toBe(200);
  });
});

describe('X-Real-IP and Nacos probe targets', () => {
  it('a relayed persistent registration may only target VIGIL_PROBE_TARGETS: neither loopback nor its own peer address counts', async () => {
    const app = await start({ VIGIL_AGENT_TOKENS: AGENT, VIGIL_PROBE_TARGETS: '127.0.0.2' });
    const register = (remoteAddress: string, ip: string, headers: Record<string, string> = {}) =>
      app.inject({
        method: 'POST',
        // Port 9 (discard): nothing listens, a probe there fails at once and harms nothing.
        url: `/nacos/v1/ns/instance?${new URLSearchParams({ serviceName: `probed-${remoteAddress}-${ip}`, ip, port: '9', ephemeral: 'false', accessToken: AGENT })}`,
        remoteAddress,
        headers,
      });
    // Direct: loopback may have loopback probed, an instance elsewhere itself.
    expect((await register('127.0.0.1', '127.0.0.1')).body).toBe('ok');
    expect((await register('192.0.2.50', '192.0.2.50')).body).toBe('ok');
    // Relayed: the peer is the proxy, so neither counts.
    for (const [peer, ip] of [
      ['127.0.0.1', '127.0.0.3'],
      ['192.0.2.51', '192.0.2.51'],
    ] as const) {
      const refused = await register(peer, ip, { 'x-real-ip': ip });
      expect(refused.statusCode, `${peer} -> ${ip}`).toBe(403);
      expect(refused.body).toBe(
        `caused: persistent instance at ${ip} refused: its health probe may only target the address it registers from (unknown behind a proxy); allow more with VIGIL_PROBE_TARGETS (comma-separated CIDRs);`,
      );
    }
    // An address in VIGIL_PROBE_TARGETS may be registered through the proxy.
    expect((await register('127.0.0.1', '127.0.0.2', { 'x-real-ip': '127.0.0.2' })).body).toBe('ok');
  });
});
