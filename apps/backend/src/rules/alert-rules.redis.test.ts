import { randomUUID } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { metricsOf, type AlertRule } from '@vigil/protocol';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { MetricsFeed } from '../health/metrics-feed.js';
import { testApps } from '../test-support/test-app-fixtures.js';
import { AlertRulesService } from './alert-rules.service.js';

/**
 * Alert rules with the redis store: two backends (replicas) on one Redis see the same rules, a
 * change made on one reaches the other without a restart, and a new replica starts with them.
 * Needs Redis (127.0.0.1:6379 unless VIGIL_TEST_REDIS_URL): without it these fail, naming it; they never skip.
 */
const REDIS_URL = process.env.VIGIL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `vigil-test-rules-${randomUUID().slice(0, 8)}`;

const apps = testApps('alert-rules-redis');
afterAll(async () => {
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`{${PREFIX}}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

/** One replica: a backend on the shared Redis, with a data dir of its own. */
const replica = (): Promise<NestFastifyApplication> =>
  apps.start({ VIGIL_STORE: 'redis', VIGIL_REDIS_URL: REDIS_URL, VIGIL_REDIS_PREFIX: PREFIX });

const rules = async (app: NestFastifyApplication): Promise<AlertRule[]> =>
  ((await app.inject({ method: 'GET', url: '/api/v1/alert-rules' })).json() as { rules: AlertRule[] }).rules;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const body = (name: string, threshold = 90) => ({ name, metric: 'cpu', comparison: '>', threshold, forMs: 60_000, level: 'emergency' });

describe('alert rules on Redis', () => {
  it('shares rules between replicas: created on A, listed by B; changed on B, seen by A; deleted on A, gone from B; a new replica starts with them', async () => {
    const a = await replica();
    const b = await replica();
    const created = await a.inject({ method: 'POST', url: '/api/v1/alert-rules', payload: body('CPU hot') });
    expect(created.statusCode, created.body).toBe(201);
    const { id } = created.json() as AlertRule;
    await until('B to list the rule', async () => ((await rules(b)).some((r) => r.id === id) ? true : undefined));

    const changed = await b.inject({ method: 'PUT', url: `/api/v1/alert-rules/${id}`, payload: body('CPU very hot', 97) });
    expect(changed.statusCode, changed.body).toBe(200);
    await until('A to see the change', async () => ((await rules(a)).find((r) => r.id === id)?.threshold === 97 ? true : undefined));

    const second = await b.inject({ method: 'POST', url: '/api/v1/alert-rules', payload: body('CPU warm', 70) });
    expect(second.statusCode).toBe(201);
    await until('A to list both rules', async () => ((await rules(a)).length === 2 ? true : undefined));

    expect((await a.inject({ method: 'DELETE', url: `/api/v1/alert-rules/${id}` })).statusCode).toBe(204);
    await until('B to drop the deleted rule', async () => ((await rules(b)).every((r) => r.id !== id) ? true : undefined));

    const c = await replica();
    expect((await rules(c)).map((r) => [r.name, r.threshold])).toEqual([['CPU warm', 70]]);
  });

  it('answers firing for the whole fleet on every replica: each judges its own beats and shares its counts', async () => {
    const a = await replica();
    const b = await replica();
    const created = await a.inject({
      method: 'POST',
      url: '/api/v1/alert-rules',
      payload: { ...body('CPU hot'), forMs: null, forBeats: 1 },
    });
    expect(created.statusCode, created.body).toBe(201);
    const { id } = created.json() as AlertRule;
    await until('B to have the rule', async () => ((await rules(b)).some((r) => r.id === id) ? true : undefined));
    const cpu = (app: NestFastifyApplication, instanceId: string, value: number) =>
      app
        .get(MetricsFeed)
        .publish({ instanceId, service: 'orders', metrics: metricsOf([value, 1, 1, 2, 1, 1, 1, 0, 0, 1, 1], Date.now()) });
    const firing = async (app: NestFastifyApplication) => (await rules(app)).find((r) => r.id === id)?.firing;

    cpu(a, 'on-a', 99);
    cpu(b, 'on-b-1', 99);
    cpu(b, 'on-b-2', 99);
    expect([await firing(a), await firing(b)]).toEqual([1, 2]); // each its own, before sharing
    await a.get(AlertRulesService).sweep();
    await b.get(AlertRulesService).sweep();
    expect([await firing(a), await firing(b)]).toEqual([3, 3]);

    cpu(b, 'on-b-1', 10);
    await b.get(AlertRulesService).sweep();
    expect([await firing(a), await firing(b)]).toEqual([2, 2]);
    // A replica that stops takes its alerts out of the count.
    apps.release(b);
    await b.close();
    expect(await firing(a)).toBe(1);
  });
});
