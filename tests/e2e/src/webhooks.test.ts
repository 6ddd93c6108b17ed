import { existsSync, mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FullBeat } from '@vigil/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fullBeat as harnessFullBeat, killAll, startBackend, waitFor, type Backend } from './harness.js';

const LOST_AFTER_MS = 1_000;

interface Received {
  path: string;
  body: Record<string, unknown>;
}

/** A local webhook target: records every POST; `/redirect` answers 302 to `/after-redirect`. */
async function startReceiver(): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: JSON.parse(body || '{}') as Record<string, unknown> });
      if (req.url === '/redirect') res.writeHead(302, { location: '/after-redirect' }).end();
      else res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, server };
}

function fullBeat(instanceId: string): FullBeat {
  return harnessFullBeat(instanceId, {
    service: 'billing',
    appName: 'webhook-e2e',
    hostName: 'host-wh',
    ip: ['10.9.0.2'],
    processId: 4321,
  });
}

async function call<T>(backend: Backend, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${backend.url}${path}`, {
    method,
    ...(body !== undefined && { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}

interface Webhook {
  id: string;
  name: string;
  url: string;
  delivery: { delivered: number; failed: number; dropped: number; last: { ok: boolean; status?: number; error?: string } | null };
}

describe('webhooks against the real backend', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-e2e-webhooks-'));
  const env = { VIGIL_WEBHOOK_ALLOW_PRIVATE: 'true', VIGIL_DATA_DIR: dataDir, VIGIL_LOST_AFTER_MS: String(LOST_AFTER_MS) };
  let backend: Backend;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let lostHook: Webhook;

  beforeAll(async () => {
    receiver = await startReceiver();
    backend = await startBackend(env);
  });
  afterAll(() => {
    killAll();
    receiver.server.close();
  });

  it('posts the instance.lost event of an instance that stopped beating', async () => {
    const created = await call<Webhook>(backend, 'POST', '/api/v1/webhooks', {
      name: 'lost instances',
      url: `${receiver.url}/generic`,
      format: 'generic',
      minLevel: 'important',
      enabled: true,
      eventTypes: ['instance.'],
    });
    expect(created.status).toBe(201);
    lostHook = created.body;
    expect(lostHook).toMatchObject({ name: 'lost instances', delivery: { delivered: 0, failed: 0, dropped: 0, last: null } });

    const beat = await call(backend, 'PUT', '/api/v1/heartbeat', fullBeat('wh-1'));
    expect(beat.status).toBe(200);

    const lost = await waitFor('instance.lost at the receiver', () =>
      receiver.received.find((r) => r.path === '/generic' && r.body.type === 'instance.lost' && r.body.instanceId === 'wh-1'),
    );
    expect(lost.body).toMatchObject({
      level: 'important',
      service: 'billing',
      origin: 'backend',
      text: expect.stringContaining('IMPORTANT instance.lost'),
    });
    // instance.registered is `normal`, below the webhook's level.
    expect(receiver.received.some((r) => r.body.type === 'instance.registered')).toBe(false);

    const listed = await waitFor('the delivery to be counted', async () => {
      const { body } = await call<{ webhooks: Webhook[] }>(backend, 'GET', '/api/v1/webhooks');
      return body.webhooks.find((w) => w.id === lostHook.id && w.delivery.delivered > 0);
    });
    expect(listed.delivery).toMatchObject({ delivered: 1, failed: 0, last: { ok: true, status: 200 } });
  });

  it('sends a test message on demand and answers how it went', async () => {
    const { body: feishu } = await call<Webhook>(backend, 'POST', '/api/v1/webhooks', {
      name: 'feishu room',
      url: `${receiver.url}/feishu`,
      format: 'feishu',
      minLevel: 'emergency',
      enabled: false,
    });
    const tested = await call<{ ok: boolean; status: number; durationMs: number }>(backend, 'POST', `/api/v1/webhooks/${feishu.id}/test`);
    expect(tested.status).toBe(200);
    expect(tested.body).toMatchObject({ ok: true, status: 200, durationMs: expect.any(Number) });
    expect(receiver.received.find((r) => r.path === '/feishu')?.body).toEqual({
      msg_type: 'text',
      content: { text: expect.stringMatching(/^\[Vigil\] NORMAL webhook\.test\n.*feishu room/) },
    });
  });

  it('does not follow a redirect', async () => {
    const { body: hook } = await call<Webhook>(backend, 'POST', '/api/v1/webhooks', {
      name: 'moved',
      url: `${receiver.url}/redirect`,
      format: 'slack',
      minLevel: 'emergency',
      enabled: true,
    });
    const tested = await call<{ ok: boolean; status: number; error: string }>(backend, 'POST', `/api/v1/webhooks/${hook.id}/test`);
    expect(tested.body).toMatchObject({ ok: false, status: 302, error: expect.stringContaining('do not follow redirects') });
    expect(receiver.received.some((r) => r.path === '/after-redirect')).toBe(false);
    expect((await call(backend, 'DELETE', `/api/v1/webhooks/${hook.id}`)).status).toBe(204);
    expect((await call(backend, 'POST', `/api/v1/webhooks/${hook.id}/test`)).status).toBe(404);
  });

  it('answers 400 naming each bad field', async () => {
    const bad = await call<{ issues: string[] }>(backend, 'POST', '/api/v1/webhooks', {
      name: 'x',
      url: 'file:///etc/passwd',
      format: 'teams',
      minLevel: 'important',
      enabled: true,
    });
    expect(bad.status).toBe(400);
    expect(bad.body.issues.map((i) => i.split(':')[0])).toEqual(['url', 'format']);
  });

  it('keeps its settings across a restart', async () => {
    expect(existsSync(join(dataDir, 'webhooks.json'))).toBe(true);
    // SIGKILL: a change is on disk before it is answered, so even a crash keeps it.
    backend.child.kill('SIGKILL');
    await backend.exited;
    backend = await startBackend(env);
    const { body } = await call<{ webhooks: Webhook[] }>(backend, 'GET', '/api/v1/webhooks');
    expect(body.webhooks.map((w) => w.name)).toEqual(['lost instances', 'feishu room']);
    expect(body.webhooks[0]).toMatchObject({ id: lostHook.id, url: `${receiver.url}/generic`, delivery: { delivered: 0, last: null } });
  });

  it('refuses private targets when they are not allowed', async () => {
    const strict = await startBackend({ VIGIL_DATA_DIR: mkdtempSync(join(tmpdir(), 'vigil-e2e-webhooks-strict-')) });
    for (const url of [`${receiver.url}/generic`, 'http://localhost:9/x', 'http://[::1]/x', 'http://169.254.169.254/latest/meta-data']) {
      const refused = await call<{ issues: string[] }>(strict, 'POST', '/api/v1/webhooks', {
        name: 'internal',
        url,
        format: 'generic',
        minLevel: 'normal',
        enabled: true,
      });
      expect(refused.status, url).toBe(400);
      expect(refused.body.issues).toEqual([expect.stringMatching(/^url: .*loopback, private or link-local address/)]);
    }
    strict.child.kill('SIGKILL');
  });
});
