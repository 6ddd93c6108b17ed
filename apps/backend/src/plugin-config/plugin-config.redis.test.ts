import { randomUUID } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { BeatReply, ConfigHistory, PluginConfig } from '@vigil/protocol';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { testApps } from '../test-support/test-app-fixtures.js';

/**
 * Plugin configuration with the redis store: two backends (replicas) on one Redis. A change made
 * on one is answered by the other and delivered in the other's beat replies; changes made on
 * both at once each get a version of their own; a new replica starts with them all. Needs Redis
 * (127.0.0.1:6379 unless VIGIL_TEST_REDIS_URL): without it these fail, naming it; they never skip.
 */
const REDIS_URL = process.env.VIGIL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `vigil-test-config-${randomUUID().slice(0, 8)}`;
const CONFIG_URL = '/api/v1/services/orders/plugins/greeter/config';

const apps = testApps('plugin-config-redis');
afterAll(async () => {
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`{${PREFIX}}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

const replica = (): Promise<NestFastifyApplication> =>
  apps.start({ VIGIL_STORE: 'redis', VIGIL_REDIS_URL: REDIS_URL, VIGIL_REDIS_PREFIX: PREFIX });

const full = (instanceId: string) => ({
  v: 1,
  kind: 'full',
  instanceId,
  heartbeatTime: Date.now(),
  lastHeartbeatTime: null,
  service: 'orders',
  appName: 'shop',
  artifact: 'orders',
  appType: 'default',
  hostName: 'host-1',
  ip: [],
  processId: 1,
  dynamicInstall: false,
  version: '1.0.0',
  plugins: [{ name: 'greeter', version: '1.0.0', extInfo: {}, settings: { greeting: { type: 'string' }, retries: { type: 'number' } } }],
});
const light = (instanceId: string) => ({ v: 1, kind: 'light', instanceId, heartbeatTime: Date.now(), lastHeartbeatTime: Date.now() - 1 });

async function beat(app: NestFastifyApplication, body: object): Promise<BeatReply> {
  const answer = await app.inject({ method: 'PUT', url: '/api/v1/heartbeat', payload: body });
  expect(answer.statusCode, answer.body).toBe(200);
  return answer.json() as BeatReply;
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

const config = async (app: NestFastifyApplication): Promise<PluginConfig | undefined> => {
  const answer = await app.inject({ method: 'GET', url: CONFIG_URL });
  return answer.statusCode === 200 ? (answer.json() as PluginConfig) : undefined;
};

describe('plugin configuration on Redis', () => {
  it('is set on one replica, answered and delivered by the other; concurrent changes on both get versions of their own', async () => {
    const a = await replica();
    const b = await replica();
    await beat(a, full('i-1'));
    // B mirrors the instance (and what it declares) through the shared fleet.
    await until('B to know the instance', async () => ((await config(b))?.applied.length === 1 ? true : undefined));

    const put = await a.inject({ method: 'PUT', url: CONFIG_URL, payload: { values: { greeting: 'hi' } } });
    expect(put.statusCode, put.body).toBe(200);
    await until('B to answer version 1', async () => ((await config(b))?.version === 1 ? true : undefined));
    // The instance's next beat may reach either replica: both have its delivery.
    expect((await beat(b, light('i-1'))).config).toEqual([{ plugin: 'greeter', version: 1, values: { greeting: 'hi' } }]);
    expect((await beat(a, light('i-1'))).config).toEqual([{ plugin: 'greeter', version: 1, values: { greeting: 'hi' } }]);

    const made = await Promise.all(
      [a, b, a, b].map((app, i) => app.inject({ method: 'PUT', url: CONFIG_URL, payload: { values: { retries: i } } })),
    );
    expect(made.map((answer) => answer.statusCode)).toEqual([200, 200, 200, 200]);
    // Each replica learns of the other's saves through pub/sub, a moment after they are answered.
    const history = await until('A to have all five versions', async () => {
      const answer = (await a.inject({ method: 'GET', url: `${CONFIG_URL}/history` })).json() as ConfigHistory;
      return answer.versions.length === 5 ? answer : undefined;
    });
    expect(history.versions.map((v) => v.version)).toEqual([5, 4, 3, 2, 1]);
    expect(
      history.versions
        .slice(0, 4)
        .map((v) => v.values.retries)
        .sort(),
    ).toEqual([0, 1, 2, 3]);
    await until('B to answer version 5', async () => ((await config(b))?.version === 5 ? true : undefined));

    const c = await replica();
    expect((await c.inject({ method: 'GET', url: `${CONFIG_URL}/history` })).json()).toEqual(history);
  });
});
