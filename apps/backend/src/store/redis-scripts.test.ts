import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { CLAIM_SCRIPT, SYNC_SCRIPT, fleetKeys } from './redis-scripts.js';

/** Tests that need Redis (127.0.0.1:6379 unless VIGIL_TEST_REDIS_URL): without it they fail, naming it; they never skip. */
const REDIS_URL = process.env.VIGIL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function redisReachable(): Promise<boolean> {
  const probe = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

if (!(await redisReachable())) {
  throw new Error(
    `the redis store script tests need Redis at ${REDIS_URL}, which does not answer (start redis-server, or set VIGIL_TEST_REDIS_URL)`,
  );
}

interface Lease {
  s: string;
  since: number;
  b: number;
  e: number;
  x: number;
  l: number;
  h: 0 | 1;
}

const LOST_AFTER = 15_000;
const REMOVE_AFTER = 600_000;

describe('the redis store scripts', () => {
  const prefix = `vigil-test-${randomUUID()}`;
  const keys = fleetKeys(prefix);
  const clients: Redis[] = [];
  const client = (): Redis => {
    const redis = new Redis(REDIS_URL);
    redis.defineCommand('vigilSync', { numberOfKeys: 5, lua: SYNC_SCRIPT });
    redis.defineCommand('vigilClaim', { numberOfKeys: 7, lua: CLAIM_SCRIPT });
    clients.push(redis);
    return redis;
  };
  const a = client();
  const b = client();

  type Commands = {
    vigilSync(...args: Array<string | number>): Promise<string[]>;
    vigilClaim(...args: Array<string | number>): Promise<[string, string]>;
  };
  const sync = (redis: Redis, ops: object, replica = 'a') =>
    (redis as Redis & Commands).vigilSync(
      keys.due,
      keys.lease,
      keys.inst,
      keys.feed,
      keys.cmds,
      JSON.stringify({ u: [], b: [], r: [], ...ops }),
      replica,
      '0-0',
    );
  /**
   * One claim at `now`. Unless `gap`, the last claim is taken to be one tick ago, as when replicas
   * claim every tick: the time jumps of a test are not a stall.
   */
  const claim = async (redis: Redis, now: number, { replica = 'a', hold = false, gap = false } = {}) => {
    if (!gap) await redis.set(keys.tick, now - 20);
    const [changes, events] = await (redis as Redis & Commands).vigilClaim(
      keys.due,
      keys.lease,
      keys.inst,
      keys.feed,
      keys.events,
      keys.tick,
      keys.cmds,
      now,
      now,
      1000,
      replica,
      hold ? 1 : 0,
      10_000,
      '0-0',
      1000,
      20,
    );
    const list = (json: string) => (Array.isArray(JSON.parse(json)) ? (JSON.parse(json) as unknown[]) : []);
    return {
      changes: list(changes) as Array<{ k: string; id: string; s?: string }>,
      events: list(events).map((e) => JSON.parse(e as string) as { type: string; instanceId?: string; message: string }),
    };
  };
  const lease = (beat: number, overrides: Partial<Lease> = {}): Lease => ({
    s: 'healthy',
    since: beat,
    b: beat,
    e: beat + LOST_AFTER,
    x: beat + REMOVE_AFTER,
    l: LOST_AFTER,
    h: 0,
    ...overrides,
  });
  const instance = (id: string) => JSON.stringify({ instanceId: id, service: 'orders', status: 'healthy' });
  /** Registers ids beating last at `beat`, next transition at the lease's end (no interval known). */
  const register = (ids: string[], beat: number) => sync(a, { u: ids.map((id) => [id, instance(id), lease(beat), beat + LOST_AFTER]) });
  const loggedEvents = async () =>
    ((await a.xrange(keys.events, '-', '+')) as Array<[string, string[]]>).map(
      ([, f]) => JSON.parse(f[f.indexOf('e') + 1]!) as { type: string; instanceId?: string },
    );

  beforeEach(async () => {
    await a.del(...Object.values(keys));
  });

  afterAll(async () => {
    await a.del(...Object.values(keys));
    for (const redis of clients) redis.disconnect();
  });

  it('claims nothing before the deadline, then makes the instance lost once and logs one event', async () => {
    await register(['i-1'], 1_000);
    await sync(a, { q: [['i-1', JSON.stringify([{ id: 'c-1', type: 'plugin.disable', plugin: 'template' }])]] });
    expect(await a.hexists(keys.cmds, 'i-1')).toBe(1);
    expect((await claim(a, 1_000 + LOST_AFTER - 1)).changes).toEqual([]);
    const first = await claim(a, 1_000 + LOST_AFTER);
    expect(first.changes).toEqual([{ k: 'st', id: 'i-1', s: 'lost', since: 1_000 + LOST_AFTER, e: 1_000 + LOST_AFTER, h: 0 }]);
    expect(first.events).toMatchObject([{ type: 'instance.lost', instanceId: 'i-1', message: `no beat for ${LOST_AFTER} ms` }]);
    expect((await claim(a, 1_000 + LOST_AFTER + 10)).changes).toEqual([]);
    expect(JSON.parse((await a.hget(keys.lease, 'i-1'))!)).toMatchObject({ s: 'lost' });
    // Removed at the removal time: gone from every key.
    const removal = await claim(a, 1_000 + REMOVE_AFTER);
    expect(removal.changes).toEqual([{ k: 'rm', id: 'i-1' }]);
    expect(removal.events).toMatchObject([{ type: 'instance.removed', message: 'removed (lost)' }]);
    expect(await a.hexists(keys.inst, 'i-1')).toBe(0);
    expect(await a.hexists(keys.cmds, 'i-1')).toBe(0);
    expect(await a.zcard(keys.due)).toBe(0);
  });

  it('two replicas claiming the same due leases at once make each transition exactly once', async () => {
    const ids = Array.from({ length: 200 }, (_, i) => `i-${i}`);
    await register(ids, 1_000);
    const now = 1_000 + LOST_AFTER + 5;
    // Interleaved claims from two connections, several in flight on each.
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => claim(i % 2 ? b : a, now, { replica: i % 2 ? 'b' : 'a' })));
    const lost = results.flatMap((r) => r.changes.filter((c) => c.s === 'lost').map((c) => c.id));
    expect(lost.sort()).toEqual([...ids].sort());
    const logged = (await loggedEvents()).filter((e) => e.type === 'instance.lost');
    expect(logged).toHaveLength(ids.length);
    expect(new Set(logged.map((e) => e.instanceId)).size).toBe(ids.length);
  });

  it('goes healthy -> suspect at the suspect deadline, then lost at the lease end', async () => {
    await sync(a, { u: [['i-1', instance('i-1'), lease(0), 3_000]] });
    const suspect = await claim(a, 3_000);
    expect(suspect.changes).toMatchObject([{ id: 'i-1', s: 'suspect', since: 3_000 }]);
    expect(suspect.events).toMatchObject([{ type: 'instance.suspect', message: 'no beat for 3000 ms' }]);
    expect(await a.zscore(keys.due, 'i-1')).toBe(String(LOST_AFTER));
    expect((await claim(a, LOST_AFTER)).changes).toMatchObject([{ id: 'i-1', s: 'lost', since: LOST_AFTER }]);
  });

  it('holds an expiring instance as suspect for one more timeout when told a mass expiry is likely', async () => {
    await register(['i-1'], 0);
    const held = await claim(a, LOST_AFTER, { hold: true });
    expect(held.changes).toMatchObject([{ id: 'i-1', s: 'suspect', h: 1, e: 2 * LOST_AFTER }]);
    expect(held.events).toEqual([]);
    // Held once: the next deadline expires it even if the hold still applies.
    expect((await claim(a, 2 * LOST_AFTER, { hold: true })).changes).toMatchObject([{ id: 'i-1', s: 'lost' }]);
  });

  it('keeps a hold one replica made for the others: the next to claim expires it once at the held deadline, a beat in between clears it', async () => {
    await register(['i-1', 'i-2'], 0);
    expect((await claim(a, LOST_AFTER, { hold: true })).changes).toMatchObject([
      { id: 'i-1', s: 'suspect', h: 1 },
      { id: 'i-2', s: 'suspect', h: 1 },
    ]);
    // i-2 beats again, through replica b: its lease is renewed, no longer held.
    const beat = LOST_AFTER + 100;
    await sync(b, { b: [['i-2', lease(beat), beat + LOST_AFTER]] }, 'b');
    // Replica b claims next, still seeing a mass expiry: i-1 was held once and now expires; i-2 is not due.
    const next = await claim(b, 2 * LOST_AFTER, { replica: 'b', hold: true });
    expect(next.changes).toEqual([{ k: 'st', id: 'i-1', s: 'lost', since: 2 * LOST_AFTER, e: 2 * LOST_AFTER, h: 0 }]);
    expect(next.events).toMatchObject([{ type: 'instance.lost', instanceId: 'i-1', message: `no beat for ${2 * LOST_AFTER} ms` }]);
    expect(JSON.parse((await a.hget(keys.lease, 'i-2'))!)).toMatchObject({ s: 'healthy', h: 0, b: beat });
    expect((await loggedEvents()).filter((e) => e.type === 'instance.lost').map((e) => e.instanceId)).toEqual(['i-1']);
  });

  it('extends every lease by the gap when no replica claimed for longer than the stall threshold', async () => {
    await register(['i-1'], 0);
    await claim(a, 10_000);
    // Redis unreachable (or every replica stalled) from 10 s to 40 s: without the rule i-1 would be lost.
    const after = await claim(a, 40_000, { gap: true });
    expect(after.changes).toEqual([]);
    expect(after.events).toMatchObject([{ type: 'store.stall' }]);
    expect(Number(await a.zscore(keys.due, 'i-1'))).toBe(LOST_AFTER + 30_000 - 20);
    expect((await claim(a, LOST_AFTER + 30_000)).changes).toMatchObject([{ id: 'i-1', s: 'lost' }]);
  });

  it('keeps the newer lease when a replica writes back an older beat, and reports beats for unknown instances', async () => {
    await register(['i-1'], 5_000);
    await sync(b, { b: [['i-1', lease(4_000), 4_000 + LOST_AFTER]] }, 'b');
    expect(JSON.parse((await a.hget(keys.lease, 'i-1'))!)).toMatchObject({ b: 5_000 });
    expect(await a.zscore(keys.due, 'i-1')).toBe(String(5_000 + LOST_AFTER));
    expect(
      await sync(
        b,
        {
          b: [
            ['i-1', lease(6_000), 6_000 + LOST_AFTER],
            ['gone', lease(6_000), 6_000 + LOST_AFTER],
          ],
        },
        'b',
      ),
    ).toEqual(['gone']);
    expect(JSON.parse((await a.hget(keys.lease, 'i-1'))!)).toMatchObject({ b: 6_000 });
    expect(await a.hexists(keys.lease, 'gone')).toBe(0);
    // Every sync reaches the other replicas through the feed, tagged with its writer.
    const feed = (await a.xrange(keys.feed, '-', '+')) as Array<[string, string[]]>;
    expect(feed.map(([, fields]) => fields[1])).toEqual(['a', 'b', 'b']);
  });
});
