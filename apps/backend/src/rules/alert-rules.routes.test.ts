import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { metricsOf, type AlertRule, type EventRecord } from '@vigil/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { MetricsFeed } from '../health/metrics-feed.js';
import { testApps } from '../test-support/test-app-fixtures.js';
import { MAX_ALERT_RULES } from './alert-rule-schema.js';

/**
 * `/api/v1/alert-rules` as an operator meets it (docs/alert-rules.md): real routes through Fastify
 * (`app.inject`, from loopback in protected mode), samples published on the app's own MetricsFeed
 * as the beat path does, events read back from the events API.
 */

const apps = testApps('alert-rules');
const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

const loopRule = (overrides: Record<string, unknown> = {}) => ({
  name: 'loop stuck',
  metric: 'eventLoopDelayP99',
  comparison: '>',
  threshold: 500,
  forBeats: 3,
  level: 'important',
  ...overrides,
});

const call = (app: NestFastifyApplication, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object) =>
  app.inject({ method, url: `/api/v1/alert-rules${url}`, ...(payload && { payload }) });

async function events(app: NestFastifyApplication, type: string): Promise<EventRecord[]> {
  const answer = await app.inject({ method: 'GET', url: `/api/v1/events?type=${type}` });
  expect(answer.statusCode, answer.body).toBe(200);
  return (answer.json() as { events: EventRecord[] }).events.filter((e) => e.type === type);
}

/** One beat's metrics for an instance, with its event-loop delay p99 at `p99` ms. */
function publish(app: NestFastifyApplication, instanceId: string, p99: number, service = 'orders'): void {
  const figures = [5, 100e6, 40e6, 400e6, 1, p99, p99 + 10, 0.1, 0, 60, 4];
  app.get(MetricsFeed).publish({ instanceId, service, metrics: metricsOf(figures, Date.now()) });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('alert rules API', () => {
  it('creates (201, defaults filled), lists, gets, replaces and deletes (204) a rule; an unknown id is 404 naming id', async () => {
    const app = await apps.start();
    const created = await call(app, 'POST', '', loopRule());
    expect(created.statusCode, created.body).toBe(201);
    const rule = created.json() as AlertRule;
    expect(rule).toEqual({
      ...loopRule(),
      id: expect.any(String),
      forMs: null,
      service: null,
      enabled: true,
      createdAt: expect.any(Number),
      updatedAt: rule.createdAt,
      firing: 0,
    });
    expect((await call(app, 'GET', '')).json()).toEqual({ rules: [rule] });
    expect((await call(app, 'GET', `/${rule.id}`)).json()).toEqual(rule);

    const replaced = await call(
      app,
      'PUT',
      `/${rule.id}`,
      loopRule({ name: 'CPU hot', metric: 'cpu', threshold: 90, forBeats: undefined, forMs: 60_000, service: 'orders' }),
    );
    expect(replaced.statusCode, replaced.body).toBe(200);
    expect(replaced.json()).toMatchObject({
      id: rule.id,
      name: 'CPU hot',
      metric: 'cpu',
      forBeats: null,
      forMs: 60_000,
      service: 'orders',
      createdAt: rule.createdAt,
    });

    expect((await call(app, 'DELETE', `/${rule.id}`)).statusCode).toBe(204);
    for (const [method, payload] of [['GET'], ['PUT', loopRule()], ['DELETE']] as const) {
      const missing = await call(app, method, `/${rule.id}`, payload);
      expect(missing.statusCode, method).toBe(404);
      expect(missing.json()).toMatchObject({ error: 'unknown alert rule', issues: [`id: no alert rule ${rule.id}`] });
    }
    expect((await call(app, 'GET', '')).json()).toEqual({ rules: [] });
  });

  it('answers 400 naming the field for each bad setting, and saves nothing', async () => {
    const app = await apps.start();
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [loopRule({ name: '' }), /^name: /],
      [loopRule({ name: 'x'.repeat(129) }), /^name: /],
      [loopRule({ metric: 'diskFree' }), /^metric: /],
      [loopRule({ comparison: '=' }), /^comparison: /],
      [loopRule({ threshold: 'high' }), /^threshold: /],
      [loopRule({ threshold: undefined }), /^threshold: /],
      [loopRule({ level: 'critical' }), /^level: /],
      [loopRule({ service: '' }), /^service: /],
      [loopRule({ enabled: 'yes' }), /^enabled: /],
      [loopRule({ forBeats: 0 }), /^forBeats: /],
      [loopRule({ forBeats: 1001 }), /^forBeats: /],
      [loopRule({ forBeats: 2.5 }), /^forBeats: /],
      [loopRule({ forBeats: undefined, forMs: 999 }), /^forMs: /],
      [loopRule({ forBeats: undefined, forMs: 86_400_001 }), /^forMs: /],
      [loopRule({ forBeats: undefined }), /^forBeats: give forBeats \(consecutive beats\) or forMs \(a duration in ms\)$/],
      [loopRule({ forMs: 60_000 }), /^forMs: give forBeats or forMs, not both$/],
    ];
    for (const [body, issue] of cases) {
      const refused = await call(app, 'POST', '', body);
      expect(refused.statusCode, JSON.stringify(body)).toBe(400);
      expect(refused.json(), JSON.stringify(body)).toEqual({ error: 'invalid alert rule', issues: [expect.stringMatching(issue)] });
    }
    const created = (await call(app, 'POST', '', loopRule())).json() as AlertRule;
    const refusedPut = await call(app, 'PUT', `/${created.id}`, loopRule({ metric: 'diskFree' }));
    expect(refusedPut.statusCode).toBe(400);
    expect((await call(app, 'GET', '')).json()).toEqual({ rules: [created] });
  });

  it(`refuses rule ${MAX_ALERT_RULES + 1} with 400 naming the limit; deleting one makes room`, async () => {
    const app = await apps.start();
    let last = '';
    for (let i = 0; i < MAX_ALERT_RULES; i++) {
      const created = await call(app, 'POST', '', loopRule({ name: `rule ${i}` }));
      expect(created.statusCode, created.body).toBe(201);
      last = (created.json() as AlertRule).id;
    }
    const refused = await call(app, 'POST', '', loopRule({ name: 'one too many' }));
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toEqual({ error: 'too many alert rules', issues: [`(body): at most ${MAX_ALERT_RULES} alert rules`] });
    expect((await call(app, 'DELETE', `/${last}`)).statusCode).toBe(204);
    expect((await call(app, 'POST', '', loopRule({ name: 'fits again' }))).statusCode).toBe(201);
  });

  it('is guarded as the rest of the API: 401 without the API token once tokens are set, 403 for a cross-site browser change', async () => {
    const token = 'api-token-0123456789abc';
    const app = await apps.start({ VIGIL_API_TOKENS: token });
    const bearer = { authorization: `Bearer ${token}` };
    expect((await app.inject({ method: 'GET', url: '/api/v1/alert-rules' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/api/v1/alert-rules', payload: loopRule() })).statusCode).toBe(401);
    const crossSite = await app.inject({
      method: 'POST',
      url: '/api/v1/alert-rules',
      headers: { 'sec-fetch-site': 'cross-site', cookie: 'vigil_session=whatever' },
      payload: loopRule(),
    });
    expect(crossSite.statusCode).toBe(403);
    expect(crossSite.json()).toMatchObject({ error: 'cross-site request refused' });
    const allowed = await app.inject({ method: 'POST', url: '/api/v1/alert-rules', headers: bearer, payload: loopRule() });
    expect(allowed.statusCode, allowed.body).toBe(201);
    const listed = await app.inject({ method: 'GET', url: '/api/v1/alert-rules', headers: bearer });
    expect((listed.json() as { rules: AlertRule[] }).rules).toHaveLength(1);
  });

  it('refuses a body over 16 KiB with 413 before reading it', async () => {
    const app = await apps.start();
    const refused = await call(app, 'POST', '', loopRule({ name: 'x'.repeat(17 * 1024) }));
    expect(refused.statusCode).toBe(413);
    expect((await call(app, 'GET', '')).json()).toEqual({ rules: [] });
  });

  it('keeps rules across a restart on the same data dir', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-alert-rules-restart-'));
    const first = await apps.start({ VIGIL_DATA_DIR: dir });
    const kept = (await call(first, 'POST', '', loopRule({ service: 'orders', enabled: false }))).json() as AlertRule;
    apps.release(first);
    await first.close();
    const second = await apps.start({ VIGIL_DATA_DIR: dir });
    expect((await call(second, 'GET', '')).json()).toEqual({ rules: [kept] });
  });
});

describe('alert rules at work', () => {
  it('fires after 3 breaching beats as an event a webhook carries, counts it on the rule, and clears it once', async () => {
    const received: EventRecord[] = [];
    const receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        received.push(JSON.parse(body) as EventRecord);
        response.end('ok');
      });
    });
    servers.push(receiver);
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const app = await apps.start({ VIGIL_WEBHOOK_ALLOW_PRIVATE: 'true' });
    const hook = await app.inject({
      method: 'POST',
      url: '/api/v1/webhooks',
      payload: {
        name: 'alerts',
        url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
        format: 'generic',
        minLevel: 'normal',
        enabled: true,
        eventTypes: ['alert.'],
      },
    });
    expect(hook.statusCode, hook.body).toBe(201);
    const rule = (await call(app, 'POST', '', loopRule())).json() as AlertRule;

    publish(app, 'i-1', 900);
    publish(app, 'i-1', 900);
    publish(app, 'i-2', 10);
    expect(await events(app, 'alert.fired')).toEqual([]);
    publish(app, 'i-1', 950);
    publish(app, 'i-1', 990);
    const [fired, ...more] = await events(app, 'alert.fired');
    expect(more).toEqual([]);
    expect(fired).toMatchObject({
      level: 'important',
      instanceId: 'i-1',
      service: 'orders',
      attributes: { rule: rule.id, ruleName: 'loop stuck', metric: 'eventLoopDelayP99', value: '950', threshold: '500', service: 'orders' },
    });
    expect((await call(app, 'GET', `/${rule.id}`)).json()).toMatchObject({ firing: 1 });

    publish(app, 'i-1', 20);
    const cleared = await events(app, 'alert.cleared');
    expect(cleared).toEqual([
      expect.objectContaining({
        level: 'normal',
        instanceId: 'i-1',
        attributes: expect.objectContaining({ value: '20', reason: 'recovered' }),
      }),
    ]);
    expect((await call(app, 'GET', `/${rule.id}`)).json()).toMatchObject({ firing: 0 });

    await until('the webhook to receive both alert events', async () => (received.length >= 2 ? true : undefined));
    expect(received.map((event) => [event.type, event.instanceId])).toEqual([
      ['alert.fired', 'i-1'],
      ['alert.cleared', 'i-1'],
    ]);
  });

  it('judges the metrics real beats carry; clears when the instance says goodbye, and when the rule is disabled or deleted', async () => {
    const app = await apps.start();
    const rule = (await call(app, 'POST', '', loopRule({ forBeats: 2 }))).json() as AlertRule;
    let time = Date.now();
    const figures = (p99: number) => [5, 100e6, 40e6, 400e6, 1, p99, p99 + 10, 0.1, 0, 60, 4];
    const identity = { service: 'orders', appName: 'orders', artifact: 'orders', appType: 'node', hostName: 'h', ip: ['10.0.0.1'] };
    const beat = async (payload: Record<string, unknown>) => {
      const answer = await app.inject({
        method: 'PUT',
        url: '/api/v1/heartbeat',
        payload: { v: 1, heartbeatTime: ++time, lastHeartbeatTime: time - 1, ...payload },
      });
      expect(answer.statusCode, answer.body).toBe(200);
    };
    for (const instanceId of ['leaving', 'staying']) {
      await beat({
        kind: 'full',
        instanceId,
        ...identity,
        processId: 42,
        dynamicInstall: false,
        version: '0.1.0',
        plugins: [],
        metrics: figures(900),
      });
      expect(await events(app, 'alert.fired')).toHaveLength(instanceId === 'leaving' ? 0 : 1);
      await beat({ kind: 'light', instanceId, metrics: figures(950) });
    }
    expect((await events(app, 'alert.fired')).map((e) => [e.instanceId, e.attributes.value])).toEqual([
      ['staying', '950'],
      ['leaving', '950'],
    ]);
    expect((await call(app, 'GET', `/${rule.id}`)).json()).toMatchObject({ firing: 2 });

    await beat({ kind: 'goodbye', instanceId: 'leaving' });
    expect((await events(app, 'alert.cleared')).map((e) => [e.instanceId, e.attributes.reason])).toEqual([['leaving', 'instance offline']]);

    const disabled = await call(app, 'PUT', `/${rule.id}`, loopRule({ forBeats: 1, enabled: false }));
    expect(disabled.json()).toMatchObject({ firing: 0 });
    expect(app.get(MetricsFeed).listening).toBe(false); // no enabled rule: the beat path builds no sample
    expect((await events(app, 'alert.cleared')).map((e) => e.attributes.reason)).toEqual(['rule disabled', 'instance offline']);
    // Enabled again, it fires afresh; deleted, it clears.
    await call(app, 'PUT', `/${rule.id}`, loopRule({ forBeats: 1 }));
    expect(app.get(MetricsFeed).listening).toBe(true);
    await beat({ kind: 'light', instanceId: 'staying', metrics: figures(900) });
    expect(await events(app, 'alert.fired')).toHaveLength(3);
    await call(app, 'DELETE', `/${rule.id}`);
    expect((await events(app, 'alert.cleared')).map((e) => e.attributes.reason)).toEqual([
      'rule deleted',
      'rule disabled',
      'instance offline',
    ]);
  });
});
