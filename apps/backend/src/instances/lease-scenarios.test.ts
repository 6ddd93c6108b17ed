/**
 * One lease specification, two engines. The lease state machine runs in memory (the registry's
 * LeaseMachine, on its lease table) and, in redis mode, in Lua (the claim script of
 * store/redis-scripts.ts, over a deadline-sorted set, with the registry as the replica's mirror).
 * Every scenario below is a list of steps (beats, goodbyes, deregistrations, stalls, checks) and
 * the timeline it must produce: status transitions and events, at the time each is observed.
 * Both engines run every scenario and must produce that timeline exactly.
 *
 * The redis engine is driven as store/redis-fleet.ts drives it: local changes are written with
 * the sync script after each step, and the claim script runs on the ticks where something is
 * due (every 20 ms in production; a claim with nothing due changes nothing), its changes applied
 * to the mirror. Needs Redis (127.0.0.1:6379 unless VIGIL_TEST_REDIS_URL): without it this file
 * fails, naming it; it never skips.
 *
 * Two differences between the engines are known and left out of the table, for a decision:
 * - a stall while an instance is still healthy moves its removal in Lua (`x` is extended) but
 *   not in memory (removal is its last beat + removeAfterMs): after a 5 s stall, memory removes
 *   at 600000, Lua at 604980;
 * - self-preservation is decided per expiry in memory (the share grows as a tick expires
 *   instances) but once per claim in Redis (`hold`, asked before the claim), so a fleet going
 *   lost at once with no suspect phase (interval unknown) is partly held in memory, not in Redis.
 */
import { randomUUID } from 'node:crypto';
import type { InstanceStatus } from '@vigil/protocol';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { CLAIM_SCRIPT, SYNC_SCRIPT, fleetKeys, type FleetKeys } from '../store/redis-scripts.js';
import { agentInstanceOf } from './instance-record.js';
import { InstanceRegistry, type RegistryEvent } from './instance-registry.js';
import { fullBeat, lightBeat, registryOptions, TICK } from './registry-fixtures.js';

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
  throw new Error(`the lease scenarios run on the redis engine too, and need Redis at ${REDIS_URL}, which does not answer (start redis-server, or set VIGIL_TEST_REDIS_URL)`);
}

type Ids = string | string[];
/** What happens at `at` (ms; every time a multiple of the 20 ms tick, as the ticker's are). */
type Step = { at: number } & (
  | { full: Ids; metadata?: Record<string, string> }
  | { beat: Ids }
  | { goodbye: string }
  | { deregister: string }
  /** A persistent instance registers (as Nacos registers one): no lease. */
  | { persistent: string }
  /** No tick (no claim) for this long from `at`: the backend, or every replica, stalled. */
  | { stall: number }
  | { check: Record<string, InstanceStatus | 'gone'> }
);

interface Scenario {
  name: string;
  steps: Step[];
  /** Time runs on to here after the last step. */
  until: number;
  /**
   * `time id -> status since t`, `time id removed`, `time type id: message` (events), `time stall ms`.
   * A line with `{i}` stands for one line per id of `each`.
   */
  timeline: string[];
  each?: string[];
}

const fleet = (n: number) => Array.from({ length: n }, (_, i) => `i-${i}`);
const beats = (ids: string[], from: number, to: number, every = 5_000): Step[] => {
  const steps: Step[] = [];
  for (let at = from; at <= to; at += every) steps.push(at === 0 ? { at, full: ids } : { at, beat: ids });
  return steps;
};

const SCENARIOS: Scenario[] = [
  {
    name: 'a silent instance (interval unknown) is lost at its lease end and removed at its removal time',
    steps: [{ at: 0, full: 'i-1' }, { at: 14_980, check: { 'i-1': 'healthy' } }],
    until: 600_000,
    timeline: [
      '0 instance.registered i-1: registered',
      '15000 i-1 -> lost since 15000', '15000 instance.lost i-1: no beat for 15000 ms',
      '600000 i-1 removed', '600000 instance.removed i-1: removed (lost)',
    ],
  },
  {
    name: 'beating every 5 s: suspect after two missed intervals, lost at the lease end',
    steps: [...beats(['i-1'], 0, 10_000), { at: 19_980, check: { 'i-1': 'healthy' } }],
    until: 25_000,
    timeline: [
      '0 instance.registered i-1: registered',
      '20000 i-1 -> suspect since 20000', '20000 instance.suspect i-1: no beat for 10000 ms',
      '25000 i-1 -> lost since 25000', '25000 instance.lost i-1: no beat for 15000 ms',
    ],
  },
  {
    name: 'beating every 300 ms: suspect no sooner than one interval and the 1 s grace',
    steps: beats(['i-1'], 0, 3_000, 300),
    until: 18_000,
    timeline: [
      '0 instance.registered i-1: registered',
      '4300 i-1 -> suspect since 4300', '4300 instance.suspect i-1: no beat for 1300 ms',
      '18000 i-1 -> lost since 18000', '18000 instance.lost i-1: no beat for 15000 ms',
    ],
  },
  {
    name: 'a beat revives a suspect instance, which is judged again from the new beat',
    steps: [...beats(['i-1'], 0, 10_000), { at: 21_000, beat: 'i-1' }],
    until: 36_000,
    timeline: [
      '0 instance.registered i-1: registered',
      '20000 i-1 -> suspect since 20000', '20000 instance.suspect i-1: no beat for 10000 ms',
      '21000 i-1 -> healthy since 21000', '21000 instance.recovered i-1: beats again after being suspect',
      '31000 i-1 -> suspect since 31000', '31000 instance.suspect i-1: no beat for 10000 ms',
      '36000 i-1 -> lost since 36000', '36000 instance.lost i-1: no beat for 15000 ms',
    ],
  },
  {
    name: 'a beat revives a lost instance before its removal',
    steps: [{ at: 0, full: 'i-1' }, { at: 20_000, beat: 'i-1' }],
    until: 35_000,
    timeline: [
      '0 instance.registered i-1: registered',
      '15000 i-1 -> lost since 15000', '15000 instance.lost i-1: no beat for 15000 ms',
      '20000 i-1 -> healthy since 20000', '20000 instance.recovered i-1: beats again after being lost',
      '35000 i-1 -> lost since 35000', '35000 instance.lost i-1: no beat for 15000 ms',
    ],
  },
  {
    name: 'a goodbye: offline at once, never lost, removed the removal timeout after the last beat',
    steps: [{ at: 1_000, full: 'i-1' }, { at: 2_000, goodbye: 'i-1' }, { at: 30_000, check: { 'i-1': 'offline' } }],
    until: 601_000,
    timeline: [
      '1000 instance.registered i-1: registered',
      '2000 i-1 -> offline since 2000', '2000 instance.offline i-1: said goodbye',
      '601000 i-1 removed', '601000 instance.removed i-1: removed (offline)',
    ],
  },
  {
    name: 'a beat after a goodbye (a restart under the same id): healthy again, on a lease',
    steps: [{ at: 1_000, full: 'i-1' }, { at: 2_000, goodbye: 'i-1' }, { at: 3_000, beat: 'i-1' }],
    until: 18_000,
    timeline: [
      '1000 instance.registered i-1: registered',
      '2000 i-1 -> offline since 2000', '2000 instance.offline i-1: said goodbye',
      '3000 i-1 -> healthy since 3000', '3000 instance.recovered i-1: beats again after being offline',
      '7000 i-1 -> suspect since 7000', '7000 instance.suspect i-1: no beat for 4000 ms',
      '18000 i-1 -> lost since 18000', '18000 instance.lost i-1: no beat for 15000 ms',
    ],
  },
  {
    name: 'a Nacos deregistration removes at once, and nothing fires for it later',
    steps: [{ at: 0, full: 'i-1' }, { at: 5_000, deregister: 'i-1' }],
    until: 700_000,
    timeline: ['0 instance.registered i-1: registered', '5000 i-1 removed', '5000 instance.removed i-1: removed (deregistered)'],
  },
  {
    name: 'per-instance timings from metadata (Nacos keys) override the global ones',
    steps: [{ at: 0, full: 'i-1', metadata: { 'preserved.heart.beat.interval': '1000', 'preserved.heart.beat.timeout': '3000', 'preserved.ip.delete.timeout': '9000' } }],
    until: 9_000,
    timeline: [
      '0 instance.registered i-1: registered',
      '2000 i-1 -> suspect since 2000', '2000 instance.suspect i-1: no beat for 2000 ms',
      '3000 i-1 -> lost since 3000', '3000 instance.lost i-1: no beat for 3000 ms',
      '9000 i-1 removed', '9000 instance.removed i-1: removed (lost)',
    ],
  },
  {
    name: 'a removal timeout under the lost timeout is raised to it: lost first, removed on the next tick',
    steps: [{ at: 0, full: 'i-1', metadata: { 'preserved.ip.delete.timeout': '1000' } }],
    until: 16_000,
    timeline: [
      '0 instance.registered i-1: registered',
      '15000 i-1 -> lost since 15000', '15000 instance.lost i-1: no beat for 15000 ms',
      '15020 i-1 removed', '15020 instance.removed i-1: removed (lost)',
    ],
  },
  {
    name: 'a persistent instance has no lease: silence is no verdict',
    steps: [{ at: 0, persistent: 'db-1' }, { at: 700_000, check: { 'db-1': 'healthy' } }],
    until: 700_000,
    timeline: ['0 instance.registered db-1: registered'],
  },
  {
    name: 'a stall extends every lease by its length: the beats queued meanwhile find their instances healthy',
    steps: [...beats(['a', 'b'], 0, 10_000), { at: 10_000, stall: 30_000 }, { at: 40_000, beat: ['a', 'b'] }, { at: 40_000, check: { a: 'healthy', b: 'healthy' } }],
    until: 45_000,
    timeline: ['0 instance.registered a: registered', '0 instance.registered b: registered', '40000 stall 29980 ms'],
  },
  {
    name: 'an instance that really stopped is still lost, one stall later',
    steps: [{ at: 0, full: 'i-1' }, { at: 1_000, stall: 5_000 }],
    until: 20_000,
    timeline: [
      '0 instance.registered i-1: registered', '6000 stall 4980 ms',
      '19980 i-1 -> lost since 19980', '19980 instance.lost i-1: no beat for 19980 ms',
    ],
  },
  {
    name: 'self-preservation: a fleet falling silent at once is held as suspect a further timeout, then lost',
    each: fleet(20),
    steps: [...beats(fleet(20), 0, 10_000), { at: 39_980, check: Object.fromEntries(fleet(20).map((id) => [id, 'suspect'])) }],
    until: 610_000,
    timeline: [
      '0 instance.registered {i}: registered',
      '20000 {i} -> suspect since 20000', '20000 instance.suspect {i}: no beat for 10000 ms',
      '40000 {i} -> lost since 40000', '40000 instance.lost {i}: no beat for 30000 ms',
      '610000 {i} removed', '610000 instance.removed {i}: removed (lost)',
    ],
  },
  {
    name: 'one instance of a large healthy fleet that stops is lost on time (no self-preservation)',
    steps: [...beats(fleet(20), 0, 10_000), ...beats(fleet(20).slice(1), 15_000, 25_000)],
    until: 25_000,
    timeline: [
      ...fleet(20).map((id) => `0 instance.registered ${id}: registered`),
      '20000 i-0 -> suspect since 20000', '20000 instance.suspect i-0: no beat for 10000 ms',
      '25000 i-0 -> lost since 25000', '25000 instance.lost i-0: no beat for 15000 ms',
    ],
  },
];

/** One engine: the registry it keeps (the whole state in memory; the replica's mirror in redis mode) and what it observed. */
interface Engine {
  readonly registry: InstanceRegistry;
  readonly timeline: string[];
  /** Fires (memory) or claims (redis) every transition due up to `t`. */
  advanceTo(t: number): Promise<void>;
  /** No tick for `ms` from now, then one. */
  stall(ms: number): Promise<void>;
  /** After a beat, goodbye or deregistration: writes it through (redis). */
  written(): Promise<void>;
  /** The status the engine holds for an instance, from the source of truth (Redis for the redis engine). */
  statusOf(id: string): Promise<InstanceStatus | 'gone'>;
  close(): Promise<void>;
}

/** Records the transitions a registry reports (a change of status of a known instance, a removal). */
function observe(registry: InstanceRegistry, now: () => number, timeline: string[]): void {
  const statuses = new Map<string, InstanceStatus>();
  registry.onChange((change) => {
    if (change.type === 'beat') return;
    if (change.type === 'removed') {
      statuses.delete(change.instanceId);
      timeline.push(`${now()} ${change.instanceId} removed`);
      return;
    }
    const { instanceId, status, statusSince } = change.instance;
    const before = statuses.get(instanceId);
    statuses.set(instanceId, status);
    if (before !== undefined && before !== status) timeline.push(`${now()} ${instanceId} -> ${status} since ${statusSince}`);
  });
}

/** An event as a timeline line; events outside the lease machine (self-preservation's, which only the registry logs) are left out. */
function eventLine(time: number, type: string, instanceId: string | undefined, message: string, attributes?: Record<string, string>): string | undefined {
  if (type.endsWith('.stall')) return `${time} stall ${attributes?.stallMs} ms`;
  if (!type.startsWith('instance.')) return undefined;
  return `${time} ${type} ${instanceId}: ${message}`;
}

function logEvent(timeline: string[], event: RegistryEvent): void {
  const line = eventLine(event.time, event.type, event.instance?.instanceId, event.message, event.attributes);
  if (line) timeline.push(line);
}

class MemoryEngine implements Engine {
  readonly registry = new InstanceRegistry(registryOptions(), 0);
  readonly timeline: string[] = [];
  private now = 0;

  constructor() {
    observe(this.registry, () => this.now, this.timeline);
    this.registry.onEvent((event) => logEvent(this.timeline, event));
  }

  async advanceTo(t: number): Promise<void> {
    while (this.now + TICK <= t) this.registry.tick((this.now += TICK));
  }

  async stall(ms: number): Promise<void> {
    this.registry.tick((this.now += ms));
  }

  async written(): Promise<void> {}

  async statusOf(id: string): Promise<InstanceStatus | 'gone'> {
    return this.registry.get(id)?.status ?? 'gone';
  }

  async close(): Promise<void> {}
}

type ScriptedRedis = Redis & { vigilSync(...args: Array<string | number>): Promise<string[]>; vigilClaim(...args: Array<string | number>): Promise<[string, string]> };

class RedisEngine implements Engine {
  readonly registry = new InstanceRegistry(registryOptions(), 0);
  readonly timeline: string[] = [];
  private readonly redis: ScriptedRedis;
  private readonly keys: FleetKeys = fleetKeys(`vigil-test-${randomUUID()}`);
  private readonly pending = new Map<string, 'u' | 'b' | 'r'>();
  private applying = false;
  private now = 0;

  constructor() {
    this.redis = new Redis(REDIS_URL) as ScriptedRedis;
    this.redis.defineCommand('vigilSync', { numberOfKeys: 5, lua: SYNC_SCRIPT });
    this.redis.defineCommand('vigilClaim', { numberOfKeys: 7, lua: CLAIM_SCRIPT });
    observe(this.registry, () => this.now, this.timeline);
    // Only the replica's own events: the mirror logs none for what the claim decided.
    this.registry.onEvent((event) => logEvent(this.timeline, event));
    this.registry.onChange((change) => {
      if (this.applying) return;
      if (change.type === 'beat') {
        if (!this.pending.has(change.instanceId)) this.pending.set(change.instanceId, 'b');
      } else if (change.type === 'upsert') this.pending.set(change.instance.instanceId, 'u');
      else this.pending.set(change.instanceId, 'r');
    });
  }

  async advanceTo(t: number): Promise<void> {
    for (;;) {
      const [, score] = await this.redis.zrange(this.keys.due, '0', '0', 'WITHSCORES');
      if (score === undefined) break;
      // The first tick at or after the deadline, as the ticker's (never the one that just claimed).
      const at = Math.max(this.now + TICK, Math.ceil(Number(score) / TICK) * TICK);
      if (at > t) break;
      await this.claim(at, false);
    }
    this.now = t;
  }

  async stall(ms: number): Promise<void> {
    await this.redis.set(this.keys.tick, String(this.now));
    await this.claim(this.now + ms, true);
  }

  async written(): Promise<void> {
    if (this.pending.size === 0) return;
    const ops: { u: unknown[]; b: unknown[]; r: string[] } = { u: [], b: [], r: [] };
    for (const [id, kind] of this.pending) {
      const instance = this.registry.get(id);
      const lease = this.registry.leaseStateOf(id);
      if (kind === 'r' || !instance || !lease) {
        ops.r.push(id);
        continue;
      }
      const stored = { s: lease.status, since: lease.statusSince, b: lease.lastBeat, e: lease.leaseEnd, x: lease.removeAt, l: lease.lostAfterMs, h: lease.held ? 1 : 0 };
      if (kind === 'u') ops.u.push([id, JSON.stringify(instance), stored, lease.next]);
      else ops.b.push([id, stored, lease.next]);
    }
    this.pending.clear();
    const { keys } = this;
    await this.redis.vigilSync(keys.due, keys.lease, keys.inst, keys.feed, keys.cmds, JSON.stringify(ops), 'a', '0-0');
  }

  async statusOf(id: string): Promise<InstanceStatus | 'gone'> {
    const raw = await this.redis.hget(this.keys.lease, id);
    return raw ? (JSON.parse(raw) as { s: InstanceStatus }).s : 'gone';
  }

  async close(): Promise<void> {
    await this.redis.del(...Object.values(this.keys));
    this.redis.disconnect();
  }

  /** One claim at `now`, as redis-fleet.ts runs it (no grace: deadlines are claimed on the tick they pass, as in memory). */
  private async claim(now: number, stalled: boolean): Promise<void> {
    this.now = now;
    const { keys } = this;
    // Unless the scenario stalls, the previous claim was one tick ago, as when replicas claim every tick.
    if (!stalled) await this.redis.set(keys.tick, String(now - TICK));
    this.registry.settleSelfPreservation(now);
    const hold = this.registry.expiryLooksMassive(now) ? 1 : 0;
    const [changes, events] = await this.redis.vigilClaim(keys.due, keys.lease, keys.inst, keys.feed, keys.events, keys.tick, keys.cmds, now, now, 10_000, 'a', hold, 10_000, '0-0', 1_000, TICK);
    const list = <T>(json: string): T[] => (Array.isArray(JSON.parse(json)) ? (JSON.parse(json) as T[]) : []);
    this.applying = true;
    try {
      for (const change of list<{ k: string; id: string; s: InstanceStatus; since: number; e: number; h: number }>(changes)) {
        if (change.k === 'rm') this.registry.applyRemoteRemove(change.id);
        else this.registry.applyRemoteTransition(change.id, change.s, change.since, change.e, change.h === 1);
      }
    } finally {
      this.applying = false;
    }
    for (const json of list<string>(events)) {
      const event = JSON.parse(json) as { time: number; type: string; instanceId?: string; message: string; attributes?: Record<string, string> };
      const line = eventLine(event.time, event.type, event.instanceId, event.message, event.attributes);
      if (line) this.timeline.push(line);
    }
  }
}

const idsOf = (ids: Ids) => (typeof ids === 'string' ? [ids] : ids);

/** Runs a scenario's steps on an engine; returns its timeline in order of time (within one time, sorted: engines report a tick's lines in different orders). */
async function run(engine: Engine, scenario: Scenario): Promise<string[]> {
  for (const step of scenario.steps) {
    await engine.advanceTo(step.at);
    const { registry } = engine;
    if ('full' in step) for (const id of idsOf(step.full)) registry.applyBeat(fullBeat({ instanceId: id, metadata: step.metadata }), step.at);
    else if ('beat' in step) for (const id of idsOf(step.beat)) expect(registry.applyBeat(lightBeat(id), step.at)).toBe('renewed');
    else if ('goodbye' in step) registry.applyBeat({ ...lightBeat(step.goodbye), kind: 'goodbye' }, step.at);
    else if ('deregister' in step) registry.remove(step.deregister, step.at);
    else if ('persistent' in step) registry.upsert({ ...agentInstanceOf(fullBeat({ instanceId: step.persistent })), ephemeral: false }, step.at);
    else if ('stall' in step) await engine.stall(step.stall);
    else {
      for (const [id, status] of Object.entries(step.check)) {
        expect(registry.get(id)?.status ?? 'gone', `${id} at ${step.at}`).toBe(status);
        expect(await engine.statusOf(id), `${id} at ${step.at}, in the engine's store`).toBe(status);
      }
    }
    await engine.written();
  }
  await engine.advanceTo(scenario.until);
  return ordered(engine.timeline);
}

function ordered(lines: string[]): string[] {
  return [...lines].sort((a, b) => Number(a.split(' ')[0]) - Number(b.split(' ')[0]) || (a < b ? -1 : a > b ? 1 : 0));
}

function expectedTimeline(scenario: Scenario): string[] {
  const lines = scenario.timeline.flatMap((line) => (line.includes('{i}') ? (scenario.each ?? []).map((id) => line.replaceAll('{i}', id)) : [line]));
  return ordered(lines);
}

describe.each([
  ['in memory (the registry\'s lease machine)', () => new MemoryEngine()],
  ['in Redis (the claim script, the registry as mirror)', () => new RedisEngine()],
] as const)('the lease machine %s', (_name, engineOf) => {
  const engines: Engine[] = [];
  afterAll(async () => {
    for (const engine of engines) await engine.close();
  });

  it.each(SCENARIOS.map((scenario) => [scenario.name, scenario] as const))('%s', async (_title, scenario) => {
    const engine = engineOf();
    engines.push(engine);
    expect(await run(engine, scenario)).toEqual(expectedTimeline(scenario));
  });
});
