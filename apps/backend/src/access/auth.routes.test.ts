import 'reflect-metadata';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../app.js';
import { loadConfig } from '../config/vigil-config.js';
import { LOGIN_FAILURES_ALLOWED } from './auth.routes.js';

/** The login limit as clients meet it: real routes through Fastify (`app.inject`), the peer address set per request. */

const PASSWORD = 'correct horse battery staple';
const apps: NestFastifyApplication[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function start(env: NodeJS.ProcessEnv = {}): Promise<NestFastifyApplication> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-login-'));
  const app = await createApp(loadConfig({ VIGIL_DATA_DIR: dir, VIGIL_LOG_LEVEL: 'fatal', VIGIL_ADMIN_PASSWORD: PASSWORD, ...env }));
  apps.push(app);
  await app.init();
  return app;
}

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
    for (let i = 0; i <= LOGIN_FAILURES_ALLOWED; i += 1) await login(app, 'wrong password, guessed', '10.1.2.3', { 'x-forwarded-for': '203.0.113.7' });
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
