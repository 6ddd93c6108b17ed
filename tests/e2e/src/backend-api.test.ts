import type { BeatReply, EventList, FullBeat } from '@vigil/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fullBeat as harnessFullBeat, killAll, startBackend, waitFor, type Backend } from './harness.js';

const LOST_AFTER_MS = 1_000;

function fullBeat(instanceId: string, service: string): FullBeat {
  return harnessFullBeat(instanceId, {
    service,
    appName: 'api-test',
    ip: ['10.9.0.1'],
    processId: 1234,
    plugins: [{ name: 'template', version: '1.2.0', extInfo: { status: 'started' } }],
  });
}

describe('backend REST API against the real server', () => {
  let backend: Backend;

  const put = async (body: unknown): Promise<BeatReply> => {
    const response = await fetch(`${backend.url}/api/v1/heartbeat`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as BeatReply;
  };
  const get = async <T>(path: string): Promise<{ status: number; body: T }> => {
    const response = await fetch(`${backend.url}${path}`);
    return { status: response.status, body: (await response.json()) as T };
  };

  beforeAll(async () => {
    backend = await startBackend({ VIGIL_LOST_AFTER_MS: String(LOST_AFTER_MS), VIGIL_HEARTBEAT_INTERVAL_MS: '500' });
  });
  afterAll(() => killAll());

  it('tells agents the configured interval in every beat reply', async () => {
    expect(await put(fullBeat('api-1', 'orders'))).toMatchObject({ result: 'registered', interval: 500 });
  });

  it('filters, sorts and pages instances on the server, and answers 400 naming a bad parameter', async () => {
    await put(fullBeat('api-2', 'payments'));
    const { body } = await get<{ instances: Array<{ instanceId: string }>; total: number }>(
      '/api/v1/instances?service=payments&status=healthy&sort=lastHeartbeatTime&limit=5',
    );
    expect(body).toMatchObject({ total: 1, instances: [{ instanceId: 'api-2' }] });
    const bad = await get<{ error: string; issues: string[] }>('/api/v1/instances?status=asleep&limit=0');
    expect(bad.status).toBe(400);
    expect(bad.body.issues.map((i) => i.split(':')[0]).sort()).toEqual(['limit', 'status.0']);
  });

  it('delivers a plugin command in the next beat reply, once', async () => {
    await put(fullBeat('api-3', 'orders'));
    const sent = await fetch(`${backend.url}/api/v1/instances/api-3/plugins/template/disable`, { method: 'POST' });
    expect(sent.status).toBe(202);
    const { command } = (await sent.json()) as { command: { id: string } };
    const light = { v: 1, kind: 'light', instanceId: 'api-3', heartbeatTime: Date.now(), lastHeartbeatTime: null };
    expect((await put(light)).commands).toEqual([{ id: command.id, type: 'plugin.disable', plugin: 'template' }]);
    expect((await put(light)).commands).toBeUndefined();
    const unknownPlugin = await fetch(`${backend.url}/api/v1/instances/api-3/plugins/nope/disable`, { method: 'POST' });
    expect(unknownPlugin.status).toBe(404);
  });

  it('records agent events and derived events, queryable with filters', async () => {
    await put(fullBeat('api-4', 'mailer'));
    const posted = await fetch(`${backend.url}/api/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        v: 1,
        instanceId: 'api-4',
        dropped: 2,
        events: [{ time: Date.now(), level: 'important', type: 'log.warn', message: 'disk almost full' }],
      }),
    });
    expect(posted.status).toBe(202);
    const lost = await waitFor('the lost event of api-4', async () => {
      const { body } = await get<EventList>('/api/v1/events?service=mailer&type=instance.lost');
      return body.events[0];
    });
    expect(lost).toMatchObject({ instanceId: 'api-4', level: 'important', origin: 'backend' });
    const { body: agentEvents } = await get<EventList>('/api/v1/events?instanceId=api-4&origin=agent');
    expect(agentEvents.events).toMatchObject([{ type: 'log.warn', message: 'disk almost full', service: 'mailer' }]);
    const { body: important } = await get<EventList>('/api/v1/events?instanceId=api-4&level=important&limit=10');
    expect(important.events.map((e) => e.type).sort()).toEqual(['agent.events-dropped', 'instance.lost', 'log.warn']);
    const unknown = await fetch(`${backend.url}/api/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ v: 1, instanceId: 'ghost', dropped: 0, events: [] }),
    });
    expect(unknown.status).toBe(400);
  });

  it('answers an instance detail with its beat arrivals and recent events', async () => {
    await put(fullBeat('api-5', 'orders'));
    await put({ v: 1, kind: 'light', instanceId: 'api-5', heartbeatTime: Date.now(), lastHeartbeatTime: null });
    const { body } = await get<{ instance: { instanceId: string }; beatArrivals: number[]; events: Array<{ type: string }> }>(
      '/api/v1/instances/api-5',
    );
    expect(body.instance.instanceId).toBe('api-5');
    expect(body.beatArrivals).toHaveLength(2);
    expect(body.events.map((e) => e.type)).toContain('instance.registered');
    expect((await get('/api/v1/instances/nobody')).status).toBe(404);
  });
});

describe('operations endpoints', () => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await startBackend({ VIGIL_LOST_AFTER_MS: '500' });
  });
  afterAll(() => killAll());

  it('answers liveness and readiness', async () => {
    expect(await (await fetch(`${backend.url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${backend.url}/readyz`)).json()).toMatchObject({ status: 'ready', selfPreservation: false });
  });

  it('exports beats, instances by status and the expiry lag to Prometheus', async () => {
    const beat = { ...fullBeat('m-1', 'metrics'), heartbeatTime: Date.now() };
    await fetch(`${backend.url}/api/v1/heartbeat`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(beat),
    });
    const text = await waitFor('the lost transition in /metrics', async () => {
      const body = await (await fetch(`${backend.url}/metrics`)).text();
      return /vigil_expiry_lag_seconds_count\{transition="lost"\} 1/.test(body) ? body : undefined;
    });
    expect(text).toMatch(/vigil_beats_received_total\{kind="full"\} 1/);
    expect(text).toMatch(/vigil_instances\{status="lost"\} 1/);
    expect(text).toMatch(/nodejs_eventloop_lag_p99_seconds/);
  });

  it('serves the OpenAPI document and its UI', async () => {
    const doc = (await (await fetch(`${backend.url}/api/docs/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/heartbeat', '/api/v1/instances', '/api/v1/events']));
    const ui = await fetch(`${backend.url}/api/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger');
  });
});
