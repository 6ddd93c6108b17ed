import 'reflect-metadata';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { describe, expect, it } from 'vitest';
import { testApps } from '../test-support/test-app-fixtures.js';
import { MAX_WEBHOOKS } from './webhook-schema.js';

/**
 * `/api/v1/webhooks` as an operator meets it (docs/webhooks.md): real routes through Fastify
 * (`app.inject`, from loopback in protected mode). Webhooks are created disabled at a public
 * address literal, so nothing resolves names and nothing is ever sent.
 */

const PUBLIC_URL = 'http://93.184.216.34/hook';

const { start } = testApps('webhook-routes');

const settings = (overrides: Record<string, unknown> = {}) => ({
  name: 'ops',
  url: PUBLIC_URL,
  format: 'generic',
  minLevel: 'emergency',
  enabled: false,
  ...overrides,
});

const call = (app: NestFastifyApplication, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object) =>
  app.inject({ method, url: `/api/v1/webhooks${url}`, ...(payload && { payload }) });

describe('webhook update: the address rules', () => {
  it('refuses changing a webhook to a loopback or private address, or a name resolving to one, with 400 naming url; the saved webhook is unchanged', async () => {
    const app = await start();
    const created = await call(app, 'POST', '', settings());
    expect(created.statusCode, created.body).toBe(201);
    const { id } = created.json();

    for (const [url, problem] of [
      [
        'http://127.0.0.1:9000/hook',
        /^url: 127\.0\.0\.1 is a loopback, private or link-local address; set VIGIL_WEBHOOK_ALLOW_PRIVATE=true to allow it$/,
      ],
      ['http://10.0.0.8/hook', /^url: 10\.0\.0\.8 is a loopback, private/],
      ['http://169.254.169.254/latest/meta-data', /^url: 169\.254\.169\.254 is a loopback, private or link-local/],
      ['http://[::1]/hook', /^url: ::1 is a loopback/],
      ['http://[::ffff:192.168.1.1]/hook', /is a loopback, private or link-local/],
      // A name: refused when it resolves to a private address (localhost: from the hosts file, no DNS server needed).
      [
        'http://localhost:9000/hook',
        /^url: localhost resolves to .* which is a loopback, private or link-local address; set VIGIL_WEBHOOK_ALLOW_PRIVATE=true/,
      ],
    ] as const) {
      const refused = await call(app, 'PUT', `/${id}`, settings({ url, name: 'moved' }));
      expect(refused.statusCode, url).toBe(400);
      expect(refused.json(), url).toEqual({ error: 'invalid webhook', issues: [expect.stringMatching(problem)] });
    }
    // None of the refused changes was applied, not even the new name.
    const listed = (await call(app, 'GET', '')).json().webhooks;
    expect(listed).toEqual([expect.objectContaining({ id, name: 'ops', url: PUBLIC_URL })]);
    // A change to another public address is applied.
    const moved = await call(app, 'PUT', `/${id}`, settings({ url: 'http://93.184.216.35/other', name: 'moved' }));
    expect(moved.statusCode, moved.body).toBe(200);
    expect(moved.json()).toMatchObject({ id, name: 'moved', url: 'http://93.184.216.35/other' });
  });

  it('allows changing a webhook to a private address or a name resolving to loopback with VIGIL_WEBHOOK_ALLOW_PRIVATE=true, never to another scheme', async () => {
    const app = await start({ VIGIL_WEBHOOK_ALLOW_PRIVATE: 'true' });
    const { id } = (await call(app, 'POST', '', settings())).json();
    for (const url of ['http://127.0.0.1:9000/hook', 'http://10.0.0.8/hook', 'http://localhost:9000/hook']) {
      const changed = await call(app, 'PUT', `/${id}`, settings({ url }));
      expect(changed.statusCode, `${url}: ${changed.body}`).toBe(200);
      expect(changed.json()).toMatchObject({ id, url });
    }
    const scheme = await call(app, 'PUT', `/${id}`, settings({ url: 'file:///etc/passwd' }));
    expect(scheme.statusCode).toBe(400);
    expect(scheme.json().issues).toEqual([expect.stringMatching(/^url: /)]);
    expect((await call(app, 'GET', '')).json().webhooks[0]).toMatchObject({ url: 'http://localhost:9000/hook' });
  });
});

describe('webhook count limit', () => {
  it(`refuses the webhook past ${MAX_WEBHOOKS} with 400 "too many webhooks" naming the limit, keeps none of it, and takes one again after a delete`, async () => {
    const app = await start();
    const ids: string[] = [];
    for (let i = 0; i < MAX_WEBHOOKS; i += 1) {
      const created = await call(app, 'POST', '', settings({ name: `hook ${i}` }));
      expect(created.statusCode, created.body).toBe(201);
      ids.push(created.json().id);
    }
    const refused = await call(app, 'POST', '', settings({ name: 'one too many' }));
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toEqual({ error: 'too many webhooks', issues: [`(body): at most ${MAX_WEBHOOKS} webhooks`] });
    const listed = (await call(app, 'GET', '')).json().webhooks;
    expect(listed).toHaveLength(MAX_WEBHOOKS);
    expect(listed.some((w: { name: string }) => w.name === 'one too many')).toBe(false);

    expect((await call(app, 'DELETE', `/${ids[0]}`)).statusCode).toBe(204);
    const again = await call(app, 'POST', '', settings({ name: 'one too many' }));
    expect(again.statusCode, again.body).toBe(201);
    expect((await call(app, 'POST', '', settings({ name: 'and another' }))).statusCode).toBe(400);
  });
});
