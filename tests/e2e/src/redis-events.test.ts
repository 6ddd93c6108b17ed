import { randomUUID } from 'node:crypto';
import type { EventList, EventRecord } from '@vigil/protocol';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_REDIS_URL, freePort, fullBeat, killAll, requireRedis, startBackendOnPort, waitFor, type Backend } from './harness.js';

/**
 * The event log of the redis store (docs/operations.md, docs/backend.md "Events"): kept in a
 * Redis Stream capped at `VIGIL_EVENTS_MAX` (`XADD MAXLEN ~`), which a starting replica loads.
 */

/** The smallest cap the backend takes. */
const EVENTS_MAX = 100;
const SENT = 3 * EVENTS_MAX;
const INSTANCE = 'redis-events-1';

await requireRedis('the redis event stream tests');

describe('the event stream in Redis', () => {
  const prefix = `vigil-e2e-events-${randomUUID()}`;
  const stream = `{${prefix}}:events`;
  const env = {
    VIGIL_STORE: 'redis',
    VIGIL_REDIS_URL: TEST_REDIS_URL,
    VIGIL_REDIS_PREFIX: prefix,
    VIGIL_EVENTS_MAX: String(EVENTS_MAX),
    // Nothing in this file should expire on its own while it runs.
    VIGIL_LOST_AFTER_MS: '600000',
    VIGIL_REMOVE_AFTER_MS: '1200000',
  };
  const redis = new Redis(TEST_REDIS_URL);
  let backend: Backend;

  beforeAll(async () => {
    backend = await startBackendOnPort(await freePort(), env);
  });

  afterAll(async () => {
    killAll();
    const keys = await redis.keys(`{${prefix}}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  /** The events the stream holds, oldest first. */
  const streamed = async () =>
    ((await redis.xrange(stream, '-', '+')) as Array<[string, string[]]>).map(
      ([, fields]) => JSON.parse(fields[fields.indexOf('e') + 1]!) as Omit<EventRecord, 'id'>,
    );
  const listed = async (b: Backend) => ((await (await fetch(`${b.url}/api/v1/events?limit=1000`)).json()) as EventList).events;
  /** What identifies an event across replicas (ids are per replica). */
  const key = (e: Omit<EventRecord, 'id'>) => `${e.time} ${e.type} ${e.message}`;

  it('caps the events kept in Redis at VIGIL_EVENTS_MAX, the newest kept, and a restarted backend shows them', async () => {
    const beat = await fetch(`${backend.url}/api/v1/heartbeat`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(fullBeat(INSTANCE, { service: 'e2e-redis-events' })),
    });
    expect(beat.status).toBe(200);
    // Three times the cap, in batches of 100 (the most one batch may hold), numbered in order.
    for (let batch = 0; batch < SENT / 100; batch++) {
      const events = Array.from({ length: 100 }, (_, i) => ({
        time: Date.now(),
        level: 'normal',
        type: 'e2e.numbered',
        message: `event ${batch * 100 + i}`,
        attributes: { n: String(batch * 100 + i) },
      }));
      const response = await fetch(`${backend.url}/api/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ v: 1, instanceId: INSTANCE, events, dropped: 0 }),
      });
      expect(response.status).toBe(202);
    }
    const last = `event ${SENT - 1}`;
    await waitFor('the last event in the Redis stream', async () => ((await streamed()).at(-1)?.message === last ? true : undefined));

    // `MAXLEN ~` trims whole stream nodes: at least the cap is kept, and at most one node more.
    const [, nodeEntries] = (await redis.config('GET', 'stream-node-max-entries')) as [string, string];
    const kept = await streamed();
    expect(kept.length).toBeGreaterThanOrEqual(EVENTS_MAX);
    expect(kept.length).toBeLessThanOrEqual(EVENTS_MAX + Number(nodeEntries));
    expect(kept.length).toBeLessThan(SENT);
    // The newest VIGIL_EVENTS_MAX, in order, with nothing missing between them. Older ones kept by
    // the approximate trim may have gaps: a burst past the cap within one write to Redis keeps
    // only its newest VIGIL_EVENTS_MAX waiting (what the cap would keep of them anyway).
    const numbers = kept.filter((e) => e.type === 'e2e.numbered').map((e) => Number(e.attributes.n));
    expect(numbers.slice(-EVENTS_MAX)).toEqual(Array.from({ length: EVENTS_MAX }, (_, i) => SENT - EVENTS_MAX + i));
    expect(numbers).toEqual([...numbers].sort((x, y) => x - y));
    expect(kept.at(-1)).toMatchObject({
      origin: 'agent',
      instanceId: INSTANCE,
      service: 'e2e-redis-events',
      attributes: { n: String(SENT - 1) },
    });

    const before = await listed(backend);
    expect(before).toHaveLength(EVENTS_MAX);

    // A restart on the same Redis (nothing in this process's memory survives): the events kept
    // from before are back, newest first, as they were. The new process adds its own (the
    // `store.stall` of its first claim: no replica claimed while it restarted), and the log in
    // memory stays capped: the newest VIGIL_EVENTS_MAX of old and new together.
    backend.child.kill('SIGKILL');
    await backend.exited;
    const killedAt = Date.now();
    backend = await startBackendOnPort(await freePort(), env);
    const after = await waitFor('the reloaded events', async () => {
      const events = await listed(backend);
      return events.some((e) => e.message === last) ? events : undefined;
    });
    expect(after).toHaveLength(EVENTS_MAX);
    const since = after.filter((e) => e.time >= killedAt);
    expect(since.map((e) => e.type)).toEqual(since.map(() => 'store.stall'));
    const reloaded = after.slice(since.length);
    expect(reloaded.map(key)).toEqual(kept.slice(-reloaded.length).reverse().map(key));
    expect(reloaded.map(key)).toEqual(before.slice(0, reloaded.length).map(key));
    expect(reloaded[0]).toMatchObject({ origin: 'agent', level: 'normal', instanceId: INSTANCE, attributes: { n: String(SENT - 1) } });
    // And the instance is back as well, from the same Redis.
    expect(await backend.instance(INSTANCE)).toMatchObject({ status: 'healthy', service: 'e2e-redis-events' });
  });
});
