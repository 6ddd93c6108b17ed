import { randomUUID } from 'node:crypto';
import type { EventList, EventRecord, Instance } from '@vigil/protocol';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_REDIS_URL, freePort, fullBeat, killAll, requireRedis, startBackendOnPort, waitFor, type Backend } from './harness.js';

/**
 * Self-preservation against real backends (docs/backend.md, "No mass expiry by our own fault"):
 * when a large share of the fleet falls silent at once, the backend holds the overdue instances
 * as `suspect` for a further lost timeout instead of marking them `lost`, and `/readyz` and the
 * `vigil_self_preservation` gauge say so. One memory backend, and two replicas on one Redis
 * (where the claim script holds, and the hold lives in Redis), each with its own simulated
 * fleet of instances beating over HTTP.
 */

const INTERVAL_MS = 500;
/** Long enough that a loaded machine has time to look and resume beats within the hold. */
const LOST_AFTER_MS = 5_000;
const FLEET = 12;

await requireRedis('the self-preservation tests of the redis store');

/** A fleet of simulated agents: full beats over HTTP every interval, for the ids told to beat. */
class Fleet {
  readonly ids: string[];
  private readonly beating = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private target = '';
  /** Beats not answered 200 (a stopped fleet does not care; a beating one would go overdue). */
  readonly failures: string[] = [];

  constructor(readonly service: string) {
    this.ids = Array.from({ length: FLEET }, (_, i) => `${service}-${i}`);
  }

  /** Beats `ids` (all by default) to `url` from now on, at once and then every interval. */
  async beat(url: string, ids: string[] = this.ids): Promise<void> {
    this.target = url;
    for (const id of ids) this.beating.add(id);
    this.timer ??= setInterval(() => void this.beatAll(), INTERVAL_MS);
    await this.beatAll();
  }

  /** Every instance falls silent at once (a network partition, say). */
  stop(): void {
    this.beating.clear();
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async beatAll(): Promise<void> {
    await Promise.all(
      [...this.beating].map(async (id) => {
        try {
          const response = await fetch(`${this.target}/api/v1/heartbeat`, {
            method: 'PUT',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(fullBeat(id, { service: this.service })),
          });
          await response.text();
          if (response.status !== 200 && this.beating.has(id)) this.failures.push(`${id}: ${response.status}`);
        } catch (error) {
          if (this.beating.has(id)) this.failures.push(`${id}: ${String(error)}`);
        }
      }),
    );
  }
}

interface Readiness {
  status: string;
  selfPreservation: boolean;
}

const readiness = async (backend: Backend) => (await (await fetch(`${backend.url}/readyz`)).json()) as Readiness;

/** The `vigil_self_preservation` gauge as `/metrics` shows it. */
async function gauge(backend: Backend): Promise<number> {
  const text = await (await fetch(`${backend.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('vigil_self_preservation '));
  if (line === undefined) throw new Error(`no vigil_self_preservation in /metrics:\n${text}`);
  return Number(line.split(' ')[1]);
}

async function fleetOn(backend: Backend, fleet: Fleet): Promise<Map<string, Instance>> {
  const { instances } = await backend.instances();
  return new Map(instances.filter((i) => i.service === fleet.service).map((i) => [i.instanceId, i]));
}

async function statuses(backend: Backend, fleet: Fleet): Promise<string[]> {
  const instances = await fleetOn(backend, fleet);
  return fleet.ids.map((id) => instances.get(id)?.status ?? 'absent');
}

async function events(backend: Backend, query: string): Promise<EventRecord[]> {
  return ((await (await fetch(`${backend.url}/api/v1/events?${query}&limit=1000`)).json()) as EventList).events;
}

describe('self-preservation', () => {
  const prefix = `vigil-e2e-sp-${randomUUID()}`;
  const common = {
    VIGIL_LOST_AFTER_MS: String(LOST_AFTER_MS),
    VIGIL_REMOVE_AFTER_MS: '600000',
    VIGIL_HEARTBEAT_INTERVAL_MS: String(INTERVAL_MS),
    VIGIL_SELF_PRESERVATION_MIN_INSTANCES: '10',
    VIGIL_SELF_PRESERVATION_RATIO: '0.5',
  };
  const redisEnv = { ...common, VIGIL_STORE: 'redis', VIGIL_REDIS_URL: TEST_REDIS_URL, VIGIL_REDIS_PREFIX: prefix };
  const redis = new Redis(TEST_REDIS_URL);
  let memory: Backend;
  let a: Backend;
  let b: Backend;
  const fleets: Fleet[] = [];

  beforeAll(async () => {
    [memory, a, b] = await Promise.all([
      startBackendOnPort(await freePort(), common),
      startBackendOnPort(await freePort(), redisEnv),
      startBackendOnPort(await freePort(), redisEnv),
    ]);
  }, 90_000);

  afterAll(async () => {
    for (const fleet of fleets) fleet.stop();
    killAll();
    const keys = await redis.keys(`{${prefix}}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('holds a fleet that falls silent at once as suspect, says so in /readyz and the gauge, and expires only who stays silent a further timeout, whom a beat then recovers', async () => {
    const fleet = new Fleet('sp-memory');
    fleets.push(fleet);
    await fleet.beat(memory.url);
    await waitFor(`${FLEET} healthy instances`, async () =>
      (await statuses(memory, fleet)).every((s) => s === 'healthy') ? true : undefined,
    );
    expect(await readiness(memory)).toMatchObject({ status: 'ready', selfPreservation: false });
    expect(await gauge(memory)).toBe(0);

    fleet.stop();
    await waitFor(
      '/readyz to report self-preservation',
      async () => ((await readiness(memory)).selfPreservation ? true : undefined),
      4 * LOST_AFTER_MS,
    );
    // Past every lease's end: all held as suspect, none marked lost.
    expect(await statuses(memory, fleet)).toEqual(fleet.ids.map(() => 'suspect'));
    expect(await gauge(memory)).toBe(1);
    const entered = await events(memory, 'type=self-preservation.');
    expect(entered).toMatchObject([{ type: 'self-preservation.entered', level: 'emergency', attributes: { fleet: String(FLEET) } }]);
    expect(await events(memory, 'type=instance.lost')).toEqual([]);

    // The partition heals for all but one: self-preservation ends, the one stays held, then goes lost.
    const [dead, ...alive] = fleet.ids as [string, ...string[]];
    await fleet.beat(memory.url, alive);
    await waitFor('/readyz to report self-preservation over', async () => ((await readiness(memory)).selfPreservation ? undefined : true));
    expect(await gauge(memory)).toBe(0);
    expect((await events(memory, 'type=self-preservation.')).map((e) => `${e.type} ${e.level}`)).toEqual([
      'self-preservation.left important',
      'self-preservation.entered emergency',
    ]);
    const recovered = await events(memory, 'type=instance.recovered');
    expect(recovered.map((e) => e.instanceId).sort()).toEqual([...alive].sort());
    expect(new Set(recovered.map((e) => e.attributes.from))).toEqual(new Set(['suspect']));

    const lost = await waitFor(
      `${dead} to turn lost`,
      async () => {
        const instance = (await fleetOn(memory, fleet)).get(dead);
        return instance?.status === 'lost' ? instance : undefined;
      },
      4 * LOST_AFTER_MS,
    );
    // Held for one further timeout: lost at the end of the second, not the first.
    expect(lost.statusSince - lost.lastHeartbeatTime).toBe(2 * LOST_AFTER_MS);
    expect((await events(memory, 'type=instance.lost')).map((e) => e.instanceId)).toEqual([dead]);
    expect(await statuses(memory, fleet)).toEqual(fleet.ids.map((id) => (id === dead ? 'lost' : 'healthy')));

    // It comes back: healthy on its next beat, with an instance.recovered event from lost.
    await fleet.beat(memory.url, [dead]);
    await waitFor(`${dead} healthy again`, async () => ((await fleetOn(memory, fleet)).get(dead)?.status === 'healthy' ? true : undefined));
    expect(await events(memory, `type=instance.recovered&instanceId=${dead}`)).toMatchObject([
      { level: 'normal', attributes: { from: 'lost' } },
    ]);
    expect(fleet.failures).toEqual([]);
  });

  it('with the redis store, holds the fleet in Redis for every replica: /readyz and the gauge on both, the hold kept when the replica that claimed it dies, a late beat recovering the lost one', async () => {
    const fleet = new Fleet('sp-redis');
    fleets.push(fleet);
    const lease = async (id: string) => JSON.parse((await redis.hget(`{${prefix}}:lease`, id)) ?? '{}') as { s?: string; h?: number };
    await fleet.beat(a.url);
    for (const backend of [a, b]) {
      await waitFor(`${FLEET} healthy instances on ${backend.url}`, async () =>
        (await statuses(backend, fleet)).every((s) => s === 'healthy') ? true : undefined,
      );
      expect(await readiness(backend)).toMatchObject({ status: 'ready', selfPreservation: false });
      expect(await gauge(backend)).toBe(0);
    }

    fleet.stop();
    // The claim script holds every lease in Redis (h = 1): whichever replica claimed, both see it.
    await waitFor(
      'every lease held in Redis',
      async () => ((await Promise.all(fleet.ids.map(lease))).every((l) => l.s === 'suspect' && l.h === 1) ? true : undefined),
      4 * LOST_AFTER_MS,
    );
    for (const backend of [a, b]) {
      await waitFor(`${backend.url}/readyz to report self-preservation`, async () =>
        (await readiness(backend)).selfPreservation ? true : undefined,
      );
      expect(await gauge(backend), backend.url).toBe(1);
      expect(await statuses(backend, fleet), backend.url).toEqual(fleet.ids.map(() => 'suspect'));
      expect(await events(backend, 'type=instance.lost'), backend.url).toEqual([]);
    }

    // Replica A dies; the agents move to B, all but one. The hold is Redis's, not A's: the one
    // left silent is still held, and B expires it one further timeout after its first.
    a.child.kill('SIGKILL');
    await a.exited;
    const [dead, ...alive] = fleet.ids as [string, ...string[]];
    await fleet.beat(b.url, alive);
    await waitFor(`${b.url}/readyz to report self-preservation over`, async () =>
      (await readiness(b)).selfPreservation ? undefined : true,
    );
    expect(await gauge(b)).toBe(0);
    const lost = await waitFor(
      `${dead} to turn lost on B`,
      async () => {
        const instance = (await fleetOn(b, fleet)).get(dead);
        return instance?.status === 'lost' ? instance : undefined;
      },
      4 * LOST_AFTER_MS,
    );
    expect(lost.statusSince - lost.lastHeartbeatTime).toBe(2 * LOST_AFTER_MS);
    expect(await lease(dead)).toMatchObject({ s: 'lost', h: 0 });
    const logged = ((await redis.xrange(`{${prefix}}:events`, '-', '+')) as Array<[string, string[]]>)
      .map(([, fields]) => JSON.parse(fields[fields.indexOf('e') + 1]!) as { type: string; instanceId?: string })
      .filter((e) => e.type === 'instance.lost' || e.type.startsWith('self-preservation.'));
    // One lost event, for the one that stayed silent; in redis mode no entered/left events (docs/operations.md).
    expect(logged).toMatchObject([{ type: 'instance.lost', instanceId: dead }]);
    expect(await statuses(b, fleet)).toEqual(fleet.ids.map((id) => (id === dead ? 'lost' : 'healthy')));

    // It comes back: healthy on its next beat, with one instance.recovered event from lost, and its lease in Redis renewed.
    await fleet.beat(b.url, [dead]);
    await waitFor(`${dead} healthy again in Redis`, async () => ((await lease(dead)).s === 'healthy' ? true : undefined));
    expect((await fleetOn(b, fleet)).get(dead)?.status).toBe('healthy');
    expect(await events(b, `type=instance.recovered&instanceId=${dead}`)).toMatchObject([
      { level: 'normal', attributes: { from: 'lost' } },
    ]);
    expect(fleet.failures).toEqual([]);
  });
});
