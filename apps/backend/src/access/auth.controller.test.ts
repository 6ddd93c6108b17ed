import 'reflect-metadata';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../app.js';
import { loadConfig } from '../config/vigil-config.js';
import { LOGIN_BODY_LIMIT } from './auth.controller.js';

/** The login routes' answers besides the limit (auth.routes.test.ts): through Fastify's router, `app.inject`. */

const PASSWORD = 'correct horse battery staple';
const apps: NestFastifyApplication[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function start(env: NodeJS.ProcessEnv = { VIGIL_ADMIN_PASSWORD: PASSWORD }): Promise<NestFastifyApplication> {
  const app = await createApp(loadConfig({ VIGIL_DATA_DIR: mkdtempSync(join(tmpdir(), 'vigil-auth-')), VIGIL_LOG_LEVEL: 'fatal', ...env }));
  apps.push(app);
  await app.init();
  return app;
}

describe('login and logout', () => {
  it('refuses a login body over 4 KiB with 413 and answers a bad one 400 naming the field', async () => {
    const app = await start();
    const big = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { password: PASSWORD, padding: 'x'.repeat(LOGIN_BODY_LIMIT) },
    });
    expect(big.statusCode).toBe(413);
    const empty = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { password: '' } });
    expect(empty.statusCode).toBe(400);
    expect(empty.json()).toMatchObject({ error: 'invalid login', issues: [expect.stringMatching(/^password: /)] });
  });

  it('logs in, is let in with the cookie, and logs out: 204, the cookie cleared and no longer let in', async () => {
    const app = await start();
    const login = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { password: PASSWORD },
      remoteAddress: '192.0.2.40',
    });
    expect(login.statusCode).toBe(200);
    expect(login.json()).toEqual({ authenticated: true });
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    const state = () => app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: { cookie }, remoteAddress: '192.0.2.40' });
    expect((await state()).json()).toEqual({ loginRequired: true, authenticated: true });

    const crossSite = await app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie, 'sec-fetch-site': 'cross-site' } });
    expect(crossSite.statusCode).toBe(403);
    expect((await state()).json()).toEqual({ loginRequired: true, authenticated: true });

    const logout = await app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie } });
    expect(logout.statusCode).toBe(204);
    expect(String(logout.headers['set-cookie'])).toMatch(/^vigil_session=; Max-Age=0/);
    expect((await state()).json()).toEqual({ loginRequired: true, authenticated: false });
  });

  it('answers 404 to a login when no admin password is configured, and tells the dashboard no login is needed', async () => {
    const app = await start({});
    const login = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { password: PASSWORD } });
    expect(login.statusCode).toBe(404);
    expect(login.json()).toMatchObject({ error: 'no login configured' });
    expect((await app.inject({ method: 'GET', url: '/api/v1/auth/session' })).json()).toEqual({
      loginRequired: false,
      authenticated: true,
    });
  });
});
