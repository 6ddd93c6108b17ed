/**
 * One lease specification, two engines. The lease state machine runs in memory (the registry's
 * LeaseMachine, on its lease table) and, in redis mode, in Lua (the claim script of
 * store/redis-scripts.ts, over a deadline-sorted set, with the registry as the replica's mirror).
 * Every scenario below is a list of steps (beats, health reports, goodbyes, deregistrations, stalls, checks) and
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
import { afterAll, describe, expect, it } from 'vitest';
import {
  expectedTimeline,
  MemoryEngine,
  REDIS_URL,
  RedisEngine,
  redisReachable,
  run,
  type Engine,
  type Scenario,
  type Step,
} from './lease-engines-fixtures.js';

if (!(await redisReachable())) {
  throw new Error(
    `the lease scenarios run on the redis engine too, and need Redis at ${REDIS_URL}, which does not answer (start redis-server, or set VIGIL_TEST_REDIS_URL)`,
  );
}

const fleet = (n: number) => Array.from({ length: n }, (_, i) => `i-${i}`);
const beats = (ids: string[], from: number, to: number, every = 5_000): Step[] => {
  const steps: Step[] = [];
  for (let at = from; at <= to; at += every) steps.push(at === 0 ? { at, full: ids } : { at, beat: ids });
  return steps;
};

/** What a full beat may say of the instance's health (issue 21). */
const DOWN = { status: 'down', indicators: { db: { status: 'down', details: { error: 'ECONNREFUSED' } } } } as const;
const DEGRADED = { status: 'degraded', indicators: { cache: { status: 'degraded' } } } as const;
const UP = { status: 'up', indicators: { db: { status: 'up' } } } as const;

const SCENARIOS: Scenario[] = [
  {
    name: 'a silent instance (interval unknown) is lost at its lease end and removed at its removal time',
    steps: [
      { at: 0, full: 'i-1' },
      { at: 14_980, check: { 'i-1': 'healthy' } },
    ],
    until: 600_000,
    timeline: [
      '0 instance.registered i-1: registered',
      '15000 i-1 -> lost since 15000',
      '15000 instance.lost i-1: no beat for 15000 ms',
      '600000 i-1 removed',
      '600000 instance.removed i-1: removed (lost)',
    ],
  },
  {
    name: 'beating every 5 s: suspect after two missed intervals, lost at the lease end',
    steps: [...beats(['i-1'], 0, 10_000), { at: 19_980, check: { 'i-1': 'healthy' } }],
    until: 25_000,
    timeline: [
      '0 instance.registered i-1: registered',
      '20000 i-1 -> suspect since 20000',
      '20000 instance.suspect i-1: no beat for 10000 ms',
      '25000 i-1 -> lost since 25000',
      '25000 instance.lost i-1: no beat for 15000 ms',
    ],
  },
  {
    name: 'beating every 300 ms: suspect no sooner than one interval and the 1 s grace',
    steps: beats(['i-1'], 0, 3_000, 300),
    until: 18_000,
    timeline: [
      '0 instance.registered i-1: registered',
      '4300 i-1 -> suspect since 4300',
      '4300 instance.suspect i-1: no beat for 1300 ms',
      '18000 i-1 -> lost since 18000',
      '18000 instance.lost i-1: no beat for 15000 ms',
    ],
  },
  {
    name: 'a beat revives a suspect instance, which is judged again from the new beat',
    steps: [...beats(['i-1'], 0, 10_000), { at: 21_000, beat: 'i-1' }],
    until: 36_000,
    timeline: [
      '0 instance.registered i-1: registered',
      '20000 i-1 -> suspect since 20000',
      '20000 instance.suspect i-1: no beat for 10000 ms',
      '21000 i-1 -> healthy since 21000',
      '21000 instance.recovered i-1: beats again after being suspect',
      '31000 i-1 -> suspect since 31000',
      '31000 instance.suspect i-1: no beat for 10000 ms',
      '36000 i-1 -> lost since 36000',
      '36000 instance.lost i-1: no beat for 15000 ms',
    ],
  },
  {
    name: 'a beat revives a lost instance before its removal',
    steps: [
      { at: 0, full: 'i-1' },
      { at: 20_000, beat: 'i-1' },
    ],
    until: 35_000,
    timeline: [
      '0 instance.registered i-1: registered',
      '15000 i-1 -> lost since 15000',
      '15000 instance.lost i-1: no beat for 15000 ms',
      '20000 i-1 -> healthy since 20000',
      '20000 instance.recovered i-1: beats again after being lost',
      '35000 i-1 -> lost since 35000',
      '35000 instance.lost i-1: no beat for 15000 ms',
    ],
  },
  {
    name: 'a goodbye: offline at once, never lost, removed the removal timeout after the last beat',
    steps: [
      { at: 1_000, full: 'i-1' },
      { at: 2_000, goodbye: 'i-1' },
      { at: 30_000, check: { 'i-1': 'offline' } },
    ],
    until: 601_000,
    timeline: [
      '1000 instance.registered i-1: registered',
      '2000 i-1 -> offline since 2000',
      '2000 instance.offline i-1: said goodbye',
      '601000 i-1 removed',
      '601000 instance.removed i-1: removed (offline)',
    ],
  },
  {
    name: 'a beat after a goodbye (a restart under the same id): healthy again, on a lease',
    steps: [
      { at: 1_000, full: 'i-1' },
      { at: 2_000, goodbye: 'i-1' },
      { at: 3_000, beat: 'i-1' },
    ],
    until: 18_000,
    timeline: [
      '1000 instance.registered i-1: registered',
      '2000 i-1 -> offline since 2000',
      '2000 instance.offline i-1: said goodbye',
      '3000 i-1 -> healthy since 3000',
      '3000 instance.recovered i-1: beats again after being offline',
      '7000 i-1 -> suspect since 7000',
      '7000 instance.suspect i-1: no beat for 4000 ms',
      '18000 i-1 -> lost since 18000',
      '18000 instance.lost i-1: no beat for 15000 ms',
    ],
  },
  {
    name: 'a Nacos deregistration removes at once, and nothing fires for it later',
    steps: [
      { at: 0, full: 'i-1' },
      { at: 5_000, deregister: 'i-1' },
    ],
    until: 700_000,
    timeline: ['0 instance.registered i-1: registered', '5000 i-1 removed', '5000 instance.removed i-1: removed (deregistered)'],
  },
  {
    name: 'per-instance timings from metadata (Nacos keys) override the global ones',
    steps: [
      {
        at: 0,
        full: 'i-1',
        metadata: {
          'preserved.heart.beat.interval': '1000',
          'preserved.heart.beat.timeout': '3000',
          'preserved.ip.delete.timeout': '9000',
        },
      },
    ],
    until: 9_000,
    timeline: [
      '0 instance.registered i-1: registered',
      '2000 i-1 -> suspect since 2000',
      '2000 instance.suspect i-1: no beat for 2000 ms',
      '3000 i-1 -> lost since 3000',
      '3000 instance.lost i-1: no beat for 3000 ms',
      '9000 i-1 removed',
      '9000 instance.removed i-1: removed (lost)',
    ],
  },
  {
    name: 'a removal timeout under the lost timeout is raised to it: lost first, removed on the next tick',
    steps: [{ at: 0, full: 'i-1', metadata: { 'preserved.ip.delete.timeout': '1000' } }],
    until: 16_000,
    timeline: [
      '0 instance.registered i-1: registered',
      '15000 i-1 -> lost since 15000',
      '15000 instance.lost i-1: no beat for 15000 ms',
      '15020 i-1 removed',
      '15020 instance.removed i-1: removed (lost)',
    ],
  },
  {
    name: 'a persistent instance has no lease: silence is no verdict',
    steps: [
      { at: 0, persistent: 'db-1' },
      { at: 700_000, check: { 'db-1': 'healthy' } },
    ],
    until: 700_000,
    timeline: ['0 instance.registered db-1: registered'],
  },
  {
    name: 'a stall extends every lease by its length: the beats queued meanwhile find their instances healthy',
    steps: [
      ...beats(['a', 'b'], 0, 10_000),
      { at: 10_000, stall: 30_000 },
      { at: 40_000, beat: ['a', 'b'] },
      { at: 40_000, check: { a: 'healthy', b: 'healthy' } },
    ],
    until: 45_000,
    timeline: ['0 instance.registered a: registered', '0 instance.registered b: registered', '40000 stall 29980 ms'],
  },
  {
    name: 'an instance that really stopped is still lost, one stall later',
    steps: [
      { at: 0, full: 'i-1' },
      { at: 1_000, stall: 5_000 },
    ],
    until: 20_000,
    timeline: [
      '0 instance.registered i-1: registered',
      '6000 stall 4980 ms',
      '19980 i-1 -> lost since 19980',
      '19980 instance.lost i-1: no beat for 19980 ms',
    ],
  },
  {
    name: 'self-preservation: a fleet falling silent at once is held as suspect a further timeout, then lost',
    each: fleet(20),
    steps: [...beats(fleet(20), 0, 10_000), { at: 39_980, check: Object.fromEntries(fleet(20).map((id) => [id, 'suspect'])) }],
    until: 610_000,
    timeline: [
      '0 instance.registered {i}: registered',
      '20000 {i} -> suspect since 20000',
      '20000 instance.suspect {i}: no beat for 10000 ms',
      '40000 {i} -> lost since 40000',
      '40000 instance.lost {i}: no beat for 30000 ms',
      '610000 {i} removed',
      '610000 instance.removed {i}: removed (lost)',
    ],
  },
  {
    name: 'a beat reporting its health down: unhealthy within that beat; up again: healthy, with instance.recovered',
    steps: [
      { at: 0, full: 'i-1' },
      { at: 5_000, full: 'i-1', health: DOWN },
      { at: 5_000, check: { 'i-1': 'unhealthy' } },
      { at: 10_000, full: 'i-1', health: UP },
      { at: 10_000, check: { 'i-1': 'healthy' } },
    ],
    until: 12_000,
    timeline: [
      '0 instance.registered i-1: registered',
      '5000 i-1 -> unhealthy since 5000',
      '5000 instance.unhealthy i-1: reports its health down (db)',
      '10000 i-1 -> healthy since 10000',
      '10000 instance.recovered i-1: reports its health up again',
    ],
  },
  {
    name: 'silence while unhealthy: lost at the lease end, no suspect phase; a beat before removal: unhealthy again (still down)',
    steps: [
      { at: 0, full: 'i-1' },
      { at: 5_000, full: 'i-1', health: DOWN },
      { at: 10_000, beat: 'i-1' },
      { at: 24_980, check: { 'i-1': 'unhealthy' } },
      { at: 30_000, beat: 'i-1' },
    ],
    until: 32_000,
    timeline: [
      '0 instance.registered i-1: registered',
      '5000 i-1 -> unhealthy since 5000',
      '5000 instance.unhealthy i-1: reports its health down (db)',
      '25000 i-1 -> lost since 25000',
      '25000 instance.lost i-1: no beat for 15000 ms',
      '30000 i-1 -> unhealthy since 30000',
      '30000 instance.unhealthy i-1: beats again after being lost, and reports its health down (db)',
    ],
  },
  {
    name: 'registered down: unhealthy from its first beat; a goodbye: offline at once',
    steps: [
      { at: 1_000, full: 'i-1', health: DOWN },
      { at: 2_000, goodbye: 'i-1' },
      { at: 3_000, check: { 'i-1': 'offline' } },
    ],
    until: 5_000,
    timeline: [
      '1000 instance.registered i-1: registered',
      '1000 instance.unhealthy i-1: reports its health down (db)',
      '2000 i-1 -> offline since 2000',
      '2000 instance.offline i-1: said goodbye',
    ],
  },
  {
    name: 'degraded keeps the instance healthy (it still serves), with instance.degraded; from down to degraded: healthy again',
    steps: [
      { at: 0, full: 'i-1' },
      { at: 5_000, full: 'i-1', health: DEGRADED },
      { at: 5_000, check: { 'i-1': 'healthy' } },
      { at: 8_000, full: 'i-1', health: DOWN },
      { at: 10_000, full: 'i-1', health: DEGRADED },
    ],
    until: 12_000,
    timeline: [
      '0 instance.registered i-1: registered',
      '5000 instance.degraded i-1: reports its health degraded (cache)',
      '8000 i-1 -> unhealthy since 8000',
      '8000 instance.unhealthy i-1: reports its health down (db)',
      '10000 i-1 -> healthy since 10000',
      '10000 instance.degraded i-1: reports its health degraded (cache)',
    ],
  },
  {
    name: 'one instance of a large healthy fleet that stops is lost on time (no self-preservation)',
    steps: [...beats(fleet(20), 0, 10_000), ...beats(fleet(20).slice(1), 15_000, 25_000)],
    until: 25_000,
    timeline: [
      ...fleet(20).map((id) => `0 instance.registered ${id}: registered`),
      '20000 i-0 -> suspect since 20000',
      '20000 instance.suspect i-0: no beat for 10000 ms',
      '25000 i-0 -> lost since 25000',
      '25000 instance.lost i-0: no beat for 15000 ms',
    ],
  },
];

describe.each([
  ["in memory (the registry's lease machine)", () => new MemoryEngine()],
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
