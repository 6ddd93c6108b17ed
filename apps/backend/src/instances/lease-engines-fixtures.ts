/**
 * The two engines of the lease machine, driven step by step for lease-scenarios.test.ts: the
 * registry alone (memory store) and the claim script in Redis with the registry as the
 * replica's mirror (redis store). Not built into dist (tsconfig.build.json leaves out `*-fixtures.ts`).
 */
import { randomUUID } from 'node:crypto';
import type { HealthReport, InstanceStatus } from '@vigil/protocol';
import { Redis } from 'ioredis';
import { expect } from 'vitest';
import { CLAIM_SCRIPT, SYNC_SCRIPT, fleetKeys, type FleetKeys } from '../store/redis-scripts.js';
import { agentInstanceOf } from './instance-record.js';
import { InstanceRegistry, type RegistryEvent } from './instance-registry.js';
import { fullBeat, lightBeat, registryOptions, TICK } from './registry-fixtures.js';

export const REDIS_URL = process.env.VIGIL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export async function redisReachable(): Promise<boolean> {
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

export type Ids = string | string[];
/** What happens at `at` (ms; every time a multiple of the 20 ms tick, as the ticker's are). */
export type Step = { at: number } &
  /** A full beat; `health`: what it reports of the instance's health (none when absent). */
  (
    | { full: Ids; metadata?: Record<string, string>; health?: HealthReport }
    | { beat: Ids }
    | { goodbye: string }
    | { deregister: string }
    /** A persistent instance registers (as Nacos registers one): no lease. */
    | { persistent: string }
    /** No tick (no claim) for this long from `at`: the backend, or every replica, stalled. */
    | { stall: number }
    | { check: Record<string, InstanceStatus | 'gone'> }
  );

export interface Scenario {
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

/** One engine: the registry it keeps (the whole state in memory; the replica's mirror in redis mode) and what it observed. */
export interface Engine {
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
function eventLine(
  time: number,
  type: string,
  instanceId: string | undefined,
  message: string,
  attributes?: Record<string, string>,
): string | undefined {
  if (type.endsWith('.stall')) return `${time} stall ${attributes?.stallMs} ms`;
  if (!type.startsWith('instance.')) return undefined;
  return `${time} ${type} ${instanceId}: ${message}`;
}

function logEvent(timeline: string[], event: RegistryEvent): void {
  const line = eventLine(event.time, event.type, event.instance?.instanceId, event.message, event.attributes);
  if (line) timeline.push(line);
}

export class MemoryEngine implements Engine {
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

type ScriptedRedis = Redis & {
  vigilSync(...args: Array<string | number>): Promise<string[]>;
  vigilClaim(...args: Array<string | number>): Promise<[string, string]>;
};

export class RedisEngine implements Engine {
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
      const stored = {
        s: lease.status,
        since: lease.statusSince,
        b: lease.lastBeat,
        e: lease.leaseEnd,
        x: lease.removeAt,
        l: lease.lostAfterMs,
        h: lease.held ? 1 : 0,
      };
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
    const [changes, events] = await this.redis.vigilClaim(
      keys.due,
      keys.lease,
      keys.inst,
      keys.feed,
      keys.events,
      keys.tick,
      keys.cmds,
      now,
      now,
      10_000,
      'a',
      hold,
      10_000,
      '0-0',
      1_000,
      TICK,
    );
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
      const event = JSON.parse(json) as {
        time: number;
        type: string;
        instanceId?: string;
        message: string;
        attributes?: Record<string, string>;
      };
      const line = eventLine(event.time, event.type, event.instanceId, event.message, event.attributes);
      if (line) this.timeline.push(line);
    }
  }
}

const idsOf = (ids: Ids) => (typeof ids === 'string' ? [ids] : ids);

/** Runs a scenario's steps on an engine; returns its timeline in order of time (within one time, sorted: engines report a tick's lines in different orders). */
export async function run(engine: Engine, scenario: Scenario): Promise<string[]> {
  for (const step of scenario.steps) {
    await engine.advanceTo(step.at);
    const { registry } = engine;
    if ('full' in step)
      for (const id of idsOf(step.full))
        registry.applyBeat(fullBeat({ instanceId: id, metadata: step.metadata, health: step.health }), step.at);
    else if ('beat' in step) for (const id of idsOf(step.beat)) expect(registry.applyBeat(lightBeat(id), step.at)).toBe('renewed');
    else if ('goodbye' in step) registry.applyBeat({ ...lightBeat(step.goodbye), kind: 'goodbye' }, step.at);
    else if ('deregister' in step) registry.remove(step.deregister, step.at);
    else if ('persistent' in step)
      registry.upsert({ ...agentInstanceOf(fullBeat({ instanceId: step.persistent })), ephemeral: false }, step.at);
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

export function expectedTimeline(scenario: Scenario): string[] {
  const lines = scenario.timeline.flatMap((line) =>
    line.includes('{i}') ? (scenario.each ?? []).map((id) => line.replaceAll('{i}', id)) : [line],
  );
  return ordered(lines);
}
