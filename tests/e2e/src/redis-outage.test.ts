import { existsSync } from 'node:fs';
import type { EventList } from '@vigil/protocol';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, killAll, startAgentApp, startBackendOnPort, startRedisServer, waitFor, type Backend, type Proc } from './harness.js';

const INTERVAL_MS = 1_000;
const LOST_AFTER_MS = 3_000;
const AGENTS = 3;
const SERVICE = 'e2e-redis-outage';
/** How long Redis hangs: well past the suspect threshold and the lost timeout. */
const OUTAGE_MS = LOST_AFTER_MS + 3_000;

const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';
if (!existsSync(REDIS_SERVER)) {
  throw new Error(`the Redis outage tests need ${REDIS_SERVER} (they start and restart their own; set REDIS_SERVER to use another)`);
}

describe('the redis store while Redis is away', () => {
  let redisPort: number;
  let redisUrl: string;
  let server: Proc;
  let a: Backend;
  let b: Backend;

  beforeAll(async () => {
    redisPort = await freePort();
    redisUrl = `redis://127.0.0.1:${redisPort}`;
    server = await startRedisServer(redisPort);
    const env = {
      VIGIL_STORE: 'redis',
      VIGIL_REDIS_URL: redisUrl,
      VIGIL_LOST_AFTER_MS: String(LOST_AFTER_MS),
      VIGIL_REMOVE_AFTER_MS: '600000',
    };
    [a, b] = await Promise.all([startBackendOnPort(await freePort(), env), startBackendOnPort(await freePort(), env)]);
    // Beating until killAll.
    Array.from({ length: AGENTS }, () =>
      startAgentApp({ moduleSystem: 'esm', service: SERVICE, backendUrl: `${a.url},${b.url}`, intervalMs: INTERVAL_MS }),
    );
    for (const backend of [a, b])
      await waitFor(`${AGENTS} healthy instances on ${backend.url}`, async () => ((await healthy(backend)) === AGENTS ? true : undefined));
  });

  afterAll(() => {
    server?.child.kill('SIGCONT');
    killAll();
  });

  const fleet = async (backend: Backend) => (await backend.instances()).instances.filter((i) => i.service === SERVICE);
  const healthy = async (backend: Backend) => (await fleet(backend)).filter((i) => i.status === 'healthy').length;
  const readiness = async (backend: Backend) => ((await (await fetch(`${backend.url}/readyz`)).json()) as { status: string }).status;
  const timedEvents = async (backend: Backend) =>
    ((await (await fetch(`${backend.url}/api/v1/events?type=instance.&limit=1000`)).json()) as EventList).events.filter(
      (e) => e.type === 'instance.suspect' || e.type === 'instance.lost',
    );

  it('answers and keeps beats while Redis hangs, says degraded, and expires nothing because of it', async () => {
    server.child.kill('SIGSTOP');
    const stoppedAt = Date.now();
    for (const backend of [a, b])
      await waitFor(`${backend.url}/readyz to say degraded`, async () => ((await readiness(backend)) === 'degraded' ? true : undefined));
    const before = new Map((await fleet(a)).map((i) => [i.instanceId, i.lastHeartbeatTime]));
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS - (Date.now() - stoppedAt)));
    // Beats kept coming in and were taken: A (where the agents beat) shows them renewed.
    for (const instance of await fleet(a)) {
      expect(instance.status).toBe('healthy');
      expect(instance.lastHeartbeatTime).toBeGreaterThan(before.get(instance.instanceId) ?? Infinity);
    }
    expect(await healthy(b)).toBe(AGENTS);

    server.child.kill('SIGCONT');
    for (const backend of [a, b])
      await waitFor(`${backend.url}/readyz to say ready`, async () => ((await readiness(backend)) === 'ready' ? true : undefined));
    // A few claims later (an observation window), still nobody suspect or lost, on either replica.
    await new Promise((resolve) => setTimeout(resolve, 2 * INTERVAL_MS));
    for (const backend of [a, b]) {
      expect(await healthy(backend)).toBe(AGENTS);
      expect(await timedEvents(backend)).toEqual([]);
    }
    // What kept them: the first claim after the hang extended every lease by it, and said so,
    // once for the whole hang (not once per claim that timed out meanwhile), with its length;
    // each replica said once when it noticed Redis stopped answering.
    const storeEvents = async () => ((await (await fetch(`${a.url}/api/v1/events?type=store.&limit=1000`)).json()) as EventList).events;
    await waitFor("both replicas' store.unreachable events on A", async () =>
      (await storeEvents()).filter((e) => e.type === 'store.unreachable').length >= 2 ? true : undefined,
    );
    const stalls = (await storeEvents()).filter((e) => e.type === 'store.stall');
    expect(stalls).toHaveLength(1);
    expect(Number(stalls[0]!.attributes.stallMs)).toBeGreaterThanOrEqual(OUTAGE_MS - 1_000);
    const unreachable = (await storeEvents()).filter((e) => e.type === 'store.unreachable');
    expect(unreachable).toHaveLength(2);
    expect(new Set(unreachable.map((e) => e.attributes.replica)).size).toBe(2);
  });

  it('has every instance back in Redis and healthy everywhere once Redis restarts empty', async () => {
    server.child.kill('SIGKILL');
    await server.exited;
    server = await startRedisServer(redisPort);
    const redis = new Redis(redisUrl);
    try {
      expect(await redis.hlen('{vigil}:inst')).toBe(0);
      await waitFor(
        'every instance back in Redis and healthy on both replicas',
        async () =>
          (await redis.hlen('{vigil}:inst')) === AGENTS && (await healthy(a)) === AGENTS && (await healthy(b)) === AGENTS
            ? true
            : undefined,
        // Each agent's next beat writes it back (answered unknown, then a full beat): nothing else would.
        30_000,
      );
      // And the fleet lives on over an observation window past the lost timeout: beats renew the
      // written-back leases, so nothing turns suspect or lost.
      await new Promise((resolve) => setTimeout(resolve, LOST_AFTER_MS + INTERVAL_MS));
      for (const backend of [a, b]) {
        expect(await healthy(backend)).toBe(AGENTS);
        expect(await timedEvents(backend)).toEqual([]);
      }
      expect(await redis.zcard('{vigil}:due')).toBe(AGENTS);
    } finally {
      redis.disconnect();
    }
  });
});
