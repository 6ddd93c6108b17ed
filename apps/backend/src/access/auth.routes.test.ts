import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { describe, expect, it } from 'vitest';
import { testApps } from '../test-support/test-app-fixtures.js';
import type { Clock } from '../common/clock.js';
import { loadConfig } from '../config/vigil-config.js';
import { LOGIN_FAILURES_ALLOWED, LOGIN_WINDOW_MS } from './auth.service.js';

/** The login limit as clients meet it: real routes through Fastify (`app.inject`), the peer address set per request. */

const PASSWORD = 'correct horse battery staple';
const apps = testApps('login');
const start = (env: NodeJS.ProcessEnv = {}, clock?: Clock) => apps.start({ VIGIL_ADMIN_PASSWORD: PASSWORD, ...env }, clock);

function login(app: NestFastifyApplication, password: string, remoteAddress: string, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url: '/api/v1/auth/login', remoteAddress, headers, payload: { password } });
}

describe('login limit', () => {
  it('counts an attempt before the password check, so concurrent wrong passwords cannot pass the limit', async () => {
    const app = await start();
    const answers = await Promise.all(Array.from({ length: 40 }, () => login(app, 'wrong password, guessed', '192.0.2.10')));
    const statuses = answers.map((a) => a.statusCode);
    expect(statuses.filter((s) => s === 401)).toHaveLength(LOGIN_FAILURES_ALLOWED);
    expect(statuses.filter((s) => s === 429)).toHaveLength(40 - LOGIN_FAILURES_ALLOWED);
    const limited = answers.find((a) => a.statusCode === 429)!;
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Another client is not held by this one's failures.
    expect((await login(app, PASSWORD, '192.0.2.11')).statusCode).toBe(200);
  });

  it('behind a trusted proxy counts each forwarded client on its own: one attacker does not lock everyone out', async () => {
    const app = await start({ VIGIL_TRUSTED_PROXIES: '10.0.0.0/8, 127.0.0.1' });
    for (let i = 0; i <= LOGIN_FAILURES_ALLOWED; i += 1)
      await login(app, 'wrong password, guessed', '10.1.2.3', { 'x-forwarded-for': '203.0.113.7' });
    expect((await login(app, PASSWORD, '10.1.2.3', { 'x-forwarded-for': '203.0.113.7' })).statusCode).toBe(429);
    // Other users through the same proxy, in each header a proxy may use, log in.
    expect((await login(app, PASSWORD, '10.1.2.3', { 'x-forwarded-for': '198.51.100.2' })).statusCode).toBe(200);
    expect((await login(app, PASSWORD, '10.1.2.3', { 'x-real-ip': '198.51.100.3' })).statusCode).toBe(200);
    expect((await login(app, PASSWORD, '::ffff:127.0.0.1', { forwarded: 'for="[2001:db8::3]:4711";proto=https' })).statusCode).toBe(200);
    // The attacker cannot escape by prepending addresses: the proxy appends the one it saw, the nearest untrusted hop counts.
    expect((await login(app, PASSWORD, '10.1.2.3', { 'x-forwarded-for': '198.51.100.9, 203.0.113.7, 10.9.9.9' })).statusCode).toBe(429);
  });

  it('ignores forwarding headers from a peer that is not a trusted proxy', async () => {
    const app = await start();
    for (let i = 0; i < LOGIN_FAILURES_ALLOWED; i += 1) {
      expect((await login(app, 'wrong password, guessed', '192.0.2.20', { 'x-forwarded-for': `198.51.100.${i}` })).statusCode).toBe(401);
    }
    expect((await login(app, 'wrong password, guessed', '192.0.2.20', { 'x-forwarded-for': '198.51.100.200' })).statusCode).toBe(429);
  });

  it('refuses a malformed VIGIL_TRUSTED_PROXIES at boot, naming the key and the entry', () => {
    expect(() => loadConfig({ VIGIL_TRUSTED_PROXIES: '10.0.0.0/8,nginx' })).toThrow(/VIGIL_TRUSTED_PROXIES=.*entry 2/);
    expect(() => loadConfig({ VIGIL_TRUSTED_PROXIES: '10.0.0.0/33' })).toThrow(/VIGIL_TRUSTED_PROXIES=.*prefix/);
  });
});

describe('login limit window', () => {
  it('lets an address try again once the 5-minute window since its first failure has passed', async () => {
    expect(LOGIN_WINDOW_MS).toBe(5 * 60_000);
    let now = Date.now();
    const app = await start({}, { now: () => now });
    const first = now;
    for (let i = 0; i < LOGIN_FAILURES_ALLOWED; i += 1)
      expect((await login(app, 'wrong password, guessed', '192.0.2.30')).statusCode).toBe(401);
    const limited = await login(app, PASSWORD, '192.0.2.30');
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe(String(LOGIN_WINDOW_MS / 1000));

    // A second before the window ends: still refused, even the right password, told to wait that second.
    now = first + LOGIN_WINDOW_MS - 1_000;
    const almost = await login(app, PASSWORD, '192.0.2.30');
    expect(almost.statusCode).toBe(429);
    expect(almost.headers['retry-after']).toBe('1');

    // Once it has passed, the address may try again: a wrong password is 401 again, the right one logs in.
    now = first + LOGIN_WINDOW_MS;
    expect((await login(app, 'wrong password, guessed', '192.0.2.30')).statusCode).toBe(401);
    expect((await login(app, PASSWORD, '192.0.2.30')).statusCode).toBe(200);
  });

  it('starts a fresh count after the window: ten more failures before the next 429', async () => {
    let now = Date.now();
    const app = await start({}, { now: () => now });
    for (let i = 0; i <= LOGIN_FAILURES_ALLOWED; i += 1) await login(app, 'wrong password, guessed', '192.0.2.31');
    expect((await login(app, PASSWORD, '192.0.2.31')).statusCode).toBe(429);
    now += LOGIN_WINDOW_MS;
    for (let i = 0; i < LOGIN_FAILURES_ALLOWED; i += 1)
      expect((await login(app, 'wrong password, guessed', '192.0.2.31')).statusCode).toBe(401);
    expect((await login(app, 'wrong password, guessed', '192.0.2.31')).statusCode).toBe(429);
  });
});

/** A login over a real connection to the listening app: the answer's status and `set-cookie`. */
function loginOver(app: NestFastifyApplication, ca?: Buffer): Promise<{ status: number; cookie: string }> {
  const { port } = app.getHttpServer().address() as { port: number };
  const body = JSON.stringify({ password: PASSWORD });
  const options = { host: '127.0.0.1', port, method: 'POST', path: '/api/v1/auth/login', headers: { 'content-type': 'application/json' } };
  return new Promise((resolve, reject) => {
    const request = ca ? httpsRequest({ ...options, ca }) : httpRequest(options);
    request.on('response', (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0, cookie: String(response.headers['set-cookie'] ?? '') }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

describe('session cookie', () => {
  it('carries Secure when the backend serves TLS (VIGIL_TLS_CERT/KEY), and not over plain HTTP', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-login-tls-'));
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
      {
        stdio: 'ignore',
      },
    );
    const tls = await start({ VIGIL_TLS_CERT: cert, VIGIL_TLS_KEY: key });
    await tls.listen({ port: 0, host: '127.0.0.1' });
    const overTls = await loginOver(tls, readFileSync(cert));
    expect(overTls.status).toBe(200);
    const attributes = (cookie: string) => cookie.split(';').map((part) => part.trim().toLowerCase());
    expect(overTls.cookie).toMatch(/^vigil_session=[^;]+/);
    expect(attributes(overTls.cookie)).toEqual(expect.arrayContaining(['secure', 'httponly', 'samesite=strict', 'path=/']));

    const plain = await start();
    await plain.listen({ port: 0, host: '127.0.0.1' });
    const overHttp = await loginOver(plain);
    expect(overHttp.status).toBe(200);
    expect(overHttp.cookie).toMatch(/^vigil_session=[^;]+/);
    expect(attributes(overHttp.cookie)).toEqual(expect.arrayContaining(['httponly', 'samesite=strict', 'path=/']));
    expect(attributes(overHttp.cookie)).not.toContain('secure');
  });
});
