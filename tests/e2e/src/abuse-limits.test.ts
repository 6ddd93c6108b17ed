import type { EventList } from '@vigil/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { fullBeat, killAll, startBackend, waitFor, type Backend } from './harness.js';

/**
 * Memory bounds against a real backend started with small limits: event batches that would fill
 * the heap, more instances than the registry may hold, an instance wider than one may be. Each
 * answer is a status code naming the limit and its setting, and the backend stays up.
 */

const json = { 'content-type': 'application/json' };

afterEach(() => killAll());

async function put(
  backend: Backend,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${backend.url}/api/v1/heartbeat`, {
    method: 'PUT',
    headers: { ...json, ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function post(
  backend: Backend,
  path: string,
  body: string,
  headers: Record<string, string> = json,
): Promise<{ status: number; text: string }> {
  const response = await fetch(`${backend.url}${path}`, { method: 'POST', headers, body });
  return { status: response.status, text: await response.text() };
}

/** The widest event the protocol lets an agent send: 4,096 x '中' and 32 attributes of 1,000 x '中'. */
function wideBatch(instanceId: string, events: number): string {
  const attributes = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`a${i}`, '中'.repeat(1_000)]));
  const event = { time: Date.now(), level: 'normal', type: 'log.warn', message: '中'.repeat(4_096), attributes };
  return JSON.stringify({ v: 1, instanceId, events: Array.from({ length: events }, () => event), dropped: 0 });
}

describe('event store bounded by bytes', () => {
  it('keeps the newest events within VIGIL_EVENTS_MAX_BYTES and stays up under a heap that wide events would fill', async () => {
    // A 96 MiB heap holds ~1,000 of these events (~72 KB each); the byte budget keeps ~110 of them.
    const backend = await startBackend({
      NODE_OPTIONS: '--max-old-space-size=96',
      VIGIL_EVENTS_MAX_BYTES: String(8 * 1024 * 1024),
      VIGIL_EVENT_BYTES_PER_SECOND: String(1024 * 1024 * 1024),
    });
    expect((await put(backend, fullBeat('wide-events'))).status).toBe(200);
    const batch = wideBatch('wide-events', 9);
    for (let i = 0; i < 300; i++) {
      const answer = await post(backend, '/api/v1/events', batch);
      expect(answer.status, answer.text).toBe(202);
    }
    const list = (await (await fetch(`${backend.url}/api/v1/events?type=log.warn&limit=1000`)).json()) as EventList;
    expect(list.total).toBeGreaterThan(50);
    expect(list.total).toBeLessThan(2_700);
    expect((await fetch(`${backend.url}/healthz`)).status).toBe(200);
    expect(backend.output()).not.toContain('heap limit');
  }, 180_000);

  it('refuses event bytes over a client’s VIGIL_EVENT_BYTES_PER_SECOND with 429 naming the setting', async () => {
    const backend = await startBackend({ VIGIL_EVENT_BYTES_PER_SECOND: String(64 * 1024) });
    expect((await put(backend, fullBeat('chatty'))).status).toBe(200);
    const batch = wideBatch('chatty', 9);
    const answers: Array<{ status: number; text: string }> = [];
    for (let i = 0; i < 40; i++) answers.push(await post(backend, '/api/v1/events', batch));
    const refused = answers.find((a) => a.status === 429);
    expect(refused?.text).toContain('VIGIL_EVENT_BYTES_PER_SECOND');
    // The instance itself is untouched: it still beats.
    expect(
      (await put(backend, { v: 1, kind: 'light', instanceId: 'chatty', heartbeatTime: Date.now(), lastHeartbeatTime: null })).body.result,
    ).toBe('renewed');
  }, 60_000);
});

describe('instances bounded in number and width', () => {
  it('refuses new instances over VIGIL_MAX_INSTANCES (agents and Nacos) with 503, keeps the known ones beating, says so in /readyz and the event log', async () => {
    // The persistent Nacos instances sit on 10.0.0.x: their probes may target it (they fail, which is fine here).
    const backend = await startBackend({ VIGIL_MAX_INSTANCES: '50', VIGIL_PROBE_TARGETS: '10.0.0.0/8' });
    for (let i = 0; i < 45; i++) expect((await put(backend, fullBeat(`known-${i}`))).status).toBe(200);
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    for (let i = 0; i < 5; i++) {
      const answer = await post(backend, '/nacos/v1/ns/instance', `serviceName=nacos-svc&ip=10.0.0.${i}&port=8080&ephemeral=false`, form);
      expect(answer.text).toBe('ok');
    }
    const refused = await put(backend, fullBeat('one-too-many'));
    expect(refused.status).toBe(503);
    expect(JSON.stringify(refused.body)).toContain('VIGIL_MAX_INSTANCES=50');
    const nacos = await post(backend, '/nacos/v1/ns/instance', 'serviceName=nacos-svc&ip=10.0.0.99&port=8080&ephemeral=false', form);
    expect(nacos.status).toBe(503);
    expect(nacos.text).toContain('VIGIL_MAX_INSTANCES');
    // Known instances keep beating, light or full.
    expect(
      (await put(backend, { v: 1, kind: 'light', instanceId: 'known-0', heartbeatTime: Date.now(), lastHeartbeatTime: null })).body.result,
    ).toBe('renewed');
    expect((await put(backend, fullBeat('known-1', { version: '0.2.0' }))).status).toBe(200);
    const ready = await fetch(`${backend.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', instances: 50, instanceLimit: { max: 50, full: true } });
    const full = await waitFor('a registry.full event', async () => {
      const list = (await (await fetch(`${backend.url}/api/v1/events?type=registry.`)).json()) as EventList;
      return list.events.find((e) => e.type === 'registry.full');
    });
    expect(full.message).toContain('VIGIL_MAX_INSTANCES');
    // One leaves: the registry is back under its limit, and says so once.
    const gone = await fetch(`${backend.url}/nacos/v1/ns/instance?serviceName=nacos-svc&ip=10.0.0.0&port=8080&ephemeral=false`, {
      method: 'DELETE',
    });
    expect(await gone.text()).toBe('ok');
    await waitFor('a registry.below-limit event', async () => {
      const list = (await (await fetch(`${backend.url}/api/v1/events?type=registry.`)).json()) as EventList;
      return list.events.find((e) => e.type === 'registry.below-limit');
    });
    expect((await put(backend, fullBeat('one-too-many'))).status).toBe(200);
    expect((await backend.instance('known-0'))?.status).toBe('healthy');
  }, 60_000);

  it('refuses a full beat wider than VIGIL_INSTANCE_MAX_BYTES with 413 naming the setting (defaults)', async () => {
    const backend = await startBackend();
    const extInfo = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`key-${i}`, 'x'.repeat(1_000)]));
    const plugins = Array.from({ length: 3 }, (_, i) => ({ name: `plugin-${i}`, version: '1.0.0', extInfo }));
    const refused = await put(backend, fullBeat('too-wide', { plugins }));
    expect(refused.status).toBe(413);
    expect(JSON.stringify(refused.body)).toContain('VIGIL_INSTANCE_MAX_BYTES');
    expect(await backend.instance('too-wide')).toBeUndefined();
    expect(
      (await put(backend, fullBeat('narrow', { plugins: plugins.slice(0, 1).map((p) => ({ ...p, extInfo: { status: 'started' } })) })))
        .status,
    ).toBe(200);
  }, 60_000);
});
