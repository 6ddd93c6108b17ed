import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { instanceListSchema, metricsHistorySchema, type HealthReport, type InstanceList } from '@vigil/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { testApps } from '../test-support/test-app-fixtures.js';

/**
 * Metrics and health as API clients meet them (issue 21): beats through the real beat route, the
 * instance list sorted and filtered by them, the history route, `/metrics`, and a webhook told
 * of an instance going unhealthy. Real routes through Fastify (`app.inject`, from loopback).
 */

const { start } = testApps('instances-health');

const figures = (cpu: number, p99 = 3) => [cpu, 120e6, 30e6, 2e9, 1, p99, p99 * 2, 0.4, 5, 600, 21];
const DOWN: HealthReport = { status: 'down', indicators: { db: { status: 'down', details: { error: 'ECONNREFUSED' } } } };
const UP: HealthReport = { status: 'up', indicators: { db: { status: 'up' } } };

function beat(app: NestFastifyApplication, instanceId: string, extra: Record<string, unknown> = {}) {
  return app.inject({
    method: 'PUT',
    url: '/api/v1/heartbeat',
    payload: {
      v: 1,
      kind: 'full',
      instanceId,
      heartbeatTime: Date.now(),
      lastHeartbeatTime: null,
      service: 'orders',
      appName: 'orders',
      artifact: 'orders',
      appType: 'node',
      hostName: `host-${instanceId}`,
      ip: ['10.0.0.1'],
      processId: 42,
      dynamicInstall: false,
      version: '0.1.0',
      plugins: [],
      ...extra,
    },
  });
}

const list = async (app: NestFastifyApplication, query: string) => {
  const answer = await app.inject({ method: 'GET', url: `/api/v1/instances?${query}` });
  expect(answer.statusCode).toBe(200);
  return instanceListSchema.parse(answer.json()) as InstanceList;
};
const ids = (page: InstanceList) => page.instances.map((i) => i.instanceId);

describe('metrics and health in the instance API', () => {
  it('lists each instance with its latest metrics and health, sorted by a metric (none: last) and filtered by health', async () => {
    const app = await start();
    await beat(app, 'busy', { metrics: figures(93, 40), health: UP });
    await beat(app, 'stuck', { metrics: figures(12, 2_100), health: DOWN });
    await beat(app, 'old-agent');
    await beat(app, 'idle', { metrics: figures(1, 1) });
    const page = await list(app, 'sort=cpu');
    expect(ids(page)).toEqual(['busy', 'stuck', 'idle', 'old-agent']);
    expect(page.instances[0]).toMatchObject({ metrics: { cpu: 93, rss: 120e6, eventLoopDelayP99: 40, uptime: 600 }, health: UP });
    expect(page.instances[3]).toMatchObject({ metrics: null, health: null });
    expect(ids(await list(app, 'sort=cpu&order=asc'))).toEqual(['idle', 'stuck', 'busy', 'old-agent']);
    expect(ids(await list(app, 'sort=eventLoopDelayP99'))).toEqual(['stuck', 'busy', 'idle', 'old-agent']);
    const down = await list(app, 'health=down');
    expect(down.instances.map((i) => [i.instanceId, i.status, i.health?.indicators.db?.details])).toEqual([
      ['stuck', 'unhealthy', { error: 'ECONNREFUSED' }],
    ]);
    expect(ids(await list(app, 'health=up,degraded'))).toEqual(['busy']);
  });

  it('answers 400 naming the parameter for a health or sort it does not know', async () => {
    const app = await start();
    const badHealth = await app.inject({ method: 'GET', url: '/api/v1/instances?health=sick' });
    expect(badHealth.statusCode).toBe(400);
    expect(badHealth.json()).toMatchObject({ error: 'invalid query', issues: [expect.stringMatching(/^health(\.0)?: Invalid option/)] });
    const badSort = await app.inject({ method: 'GET', url: '/api/v1/instances?sort=memory' });
    expect(badSort.statusCode).toBe(400);
    expect(badSort.json().issues).toEqual([expect.stringMatching(/^sort: /)]);
  });

  it("answers an instance's metrics history in the agreed shape, and 404 for an unknown instance", async () => {
    const app = await start();
    await beat(app, 'i-1', { metrics: figures(20) });
    await app.inject({
      method: 'PUT',
      url: '/api/v1/heartbeat',
      payload: { v: 1, kind: 'light', instanceId: 'i-1', heartbeatTime: Date.now(), lastHeartbeatTime: null, metrics: figures(60) },
    });
    const answer = await app.inject({ method: 'GET', url: '/api/v1/instances/i-1/metrics' });
    expect(answer.statusCode).toBe(200);
    const history = metricsHistorySchema.parse(answer.json());
    expect(history).toMatchObject({ instanceId: 'i-1', resolutionMs: 120_000 });
    expect(history.samples).toHaveLength(1);
    expect(history.samples[0]!.cpu).toBeCloseTo(40, 1);
    expect(history.samples[0]!.t).toBeLessThanOrEqual(Date.now());
    // Asked for, the instance is followed beat by beat: the next beat is a sample of its own.
    await app.inject({
      method: 'PUT',
      url: '/api/v1/heartbeat',
      payload: { v: 1, kind: 'light', instanceId: 'i-1', heartbeatTime: Date.now(), lastHeartbeatTime: null, metrics: figures(90) },
    });
    const again = metricsHistorySchema.parse((await app.inject({ method: 'GET', url: '/api/v1/instances/i-1/metrics' })).json());
    expect(again.samples.at(-1)!.cpu).toBe(90);
    const unknown = await app.inject({ method: 'GET', url: '/api/v1/instances/nope/metrics' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({ error: 'unknown instance', issues: ['id: no instance nope'] });
  });

  it('counts instances by reported health in /metrics, fleet-level, with no per-instance label', async () => {
    const app = await start();
    await beat(app, 'a', { health: DOWN, metrics: figures(5) });
    await beat(app, 'b', { health: UP });
    await beat(app, 'c');
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toMatch(/^vigil_instances_by_health\{health="down"\} 1$/m);
    expect(text).toMatch(/^vigil_instances_by_health\{health="up"\} 1$/m);
    expect(text).toMatch(/^vigil_instances_by_health\{health="unknown"\} 1$/m);
    expect(text).toMatch(/^vigil_instances\{status="unhealthy"\} 1$/m);
    expect(text).not.toMatch(/instance(_id|Id)="/);
  });
});

describe('a reported health change as events and webhooks', () => {
  const receivers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const close of receivers.splice(0)) await close();
  });

  it('logs instance.unhealthy with the indicator and its details, instance.recovered when up again, and posts both to a webhook', async () => {
    const posted: Array<{ type: string; attributes: Record<string, string> }> = [];
    const receiver = createServer((request: IncomingMessage, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        posted.push(JSON.parse(body));
        response.end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receivers.push(() => new Promise((resolve) => receiver.close(() => resolve())));
    const app = await start({ VIGIL_WEBHOOK_ALLOW_PRIVATE: 'true' });
    const hook = await app.inject({
      method: 'POST',
      url: '/api/v1/webhooks',
      payload: {
        name: 'ops',
        url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
        format: 'generic',
        minLevel: 'normal',
        enabled: true,
        eventTypes: ['instance.unhealthy', 'instance.recovered', 'instance.degraded'],
      },
    });
    expect(hook.statusCode).toBe(201);
    await beat(app, 'i-1', { health: UP });
    expect((await beat(app, 'i-1', { health: DOWN })).json()).toMatchObject({ result: 'renewed' });
    expect((await list(app, '')).instances[0]).toMatchObject({ status: 'unhealthy' });
    await beat(app, 'i-1', { health: UP });
    expect((await list(app, '')).instances[0]).toMatchObject({ status: 'healthy' });
    const events = (await app.inject({ method: 'GET', url: '/api/v1/events?instanceId=i-1&type=instance.unhealthy' })).json().events;
    expect(events).toMatchObject([
      { level: 'important', message: 'reports its health down (db)', attributes: { indicators: 'db', 'db.error': 'ECONNREFUSED' } },
    ]);
    await expect.poll(() => posted.map((p) => p.type)).toEqual(['instance.unhealthy', 'instance.recovered']);
    expect(posted[0]!.attributes).toEqual({ indicators: 'db', 'db.error': 'ECONNREFUSED' });
  });
});
