import type { FullBeat, LightBeat } from '@vigil/protocol';
import { beforeEach, describe, expect, it } from 'vitest';
import { toInstanceInput } from '../nacos/nacos-instance.js';
import { InstanceRegistry, type RegistryChange, type RegistryEvent, type RegistryOptions } from './instance-registry.js';

const LOST_AFTER = 15_000;
const REMOVE_AFTER = 600_000;

function fullBeat(overrides: Partial<FullBeat> = {}): FullBeat {
  return {
    v: 1,
    kind: 'full',
    instanceId: 'i-1',
    heartbeatTime: 0,
    lastHeartbeatTime: null,
    service: 'orders',
    appName: 'shop',
    artifact: 'orders',
    appType: 'default',
    hostName: 'host-a',
    ip: ['10.0.0.5'],
    processId: 4242,
    dynamicInstall: false,
    version: '0.1.0',
    plugins: [{ name: 'template', version: '1.2.0', extInfo: { status: 'started' } }],
    ...overrides,
  };
}

const lightBeat = (instanceId = 'i-1'): LightBeat => ({
  v: 1,
  kind: 'light',
  instanceId,
  heartbeatTime: 0,
  lastHeartbeatTime: 0,
});

const TICK = 20;

function options(overrides: Partial<RegistryOptions> = {}): RegistryOptions {
  return {
    timings: { intervalMs: null, lostAfterMs: LOST_AFTER, removeAfterMs: REMOVE_AFTER },
    suspectAfterIntervals: 2,
    tickMs: TICK,
    stallThresholdMs: 1_000,
    selfPreservation: { minInstances: 10, ratio: 0.5 },
    historySize: 32,
    ...overrides,
  };
}

describe('InstanceRegistry', () => {
  let registry: InstanceRegistry;
  let changes: RegistryChange[];
  let events: RegistryEvent[];
  let clock: number;

  /** Moves time forward the way the real ticker does: one tick every 20 ms. */
  function advanceTo(t: number): void {
    while (clock + TICK <= t) {
      clock += TICK;
      registry.tick(clock);
    }
    if (clock < t) {
      clock = t;
      registry.tick(clock);
    }
  }

  function setUp(overrides: Partial<RegistryOptions> = {}): void {
    clock = 0;
    registry = new InstanceRegistry(options(overrides), 0);
    changes = [];
    events = [];
    registry.onChange((change) => changes.push(change));
    registry.onEvent((event) => events.push(event));
  }

  beforeEach(() => setUp());

  it('registers an instance on its first full beat, healthy, with its plugins', () => {
    expect(registry.applyBeat(fullBeat(), 1_000)).toBe('registered');
    expect(registry.get('i-1')).toMatchObject({
      status: 'healthy',
      service: 'orders',
      registeredAt: 1_000,
      lastHeartbeatTime: 1_000,
      plugins: [{ name: 'template', version: '1.2.0', extInfo: { status: 'started' } }],
    });
    expect(changes).toEqual([{ type: 'upsert', instance: registry.get('i-1') }]);
    expect(events.map((e) => e.type)).toEqual(['instance.registered']);
    expect(registry.get('i-1')).toMatchObject({ source: 'agent', ephemeral: true, metadata: {} });
  });

  it('answers unknown to a light beat for an instance it has never seen', () => {
    expect(registry.applyBeat(lightBeat('nobody'), 1_000)).toBe('unknown');
    expect(registry.size).toBe(0);
  });

  it('turns an instance lost exactly lostAfter ms after its last beat, and removes it removeAfter ms after', () => {
    registry.applyBeat(fullBeat(), 1_000);
    registry.applyBeat(lightBeat(), 6_000);
    advanceTo(6_000 + LOST_AFTER - 1);
    // Two beats 5 s apart: suspect after two missed intervals, before the lost timeout.
    expect(registry.get('i-1')).toMatchObject({ status: 'suspect', statusSince: 16_000 });
    advanceTo(6_000 + LOST_AFTER);
    expect(registry.get('i-1')).toMatchObject({ status: 'lost', statusSince: 6_000 + LOST_AFTER });
    advanceTo(6_000 + REMOVE_AFTER - 1);
    expect(registry.get('i-1')).toBeDefined();
    advanceTo(6_000 + REMOVE_AFTER);
    expect(registry.get('i-1')).toBeUndefined();
    expect(changes.at(-1)).toEqual({ type: 'removed', instanceId: 'i-1' });
  });

  it('stamps the lost time at the deadline even when the tick comes late', () => {
    registry.applyBeat(fullBeat(), 1_000);
    advanceTo(1_000 + LOST_AFTER - 5);
    // One tick 500 ms late: late, but short of a stall.
    clock = 1_000 + LOST_AFTER + 495;
    registry.tick(clock);
    expect(registry.get('i-1')).toMatchObject({ status: 'lost', statusSince: 1_000 + LOST_AFTER });
  });

  it('revives a lost instance on its next beat: healthy, with an instance.recovered event from lost', () => {
    registry.applyBeat(fullBeat(), 0);
    advanceTo(LOST_AFTER);
    expect(registry.get('i-1')?.status).toBe('lost');
    events.length = 0;
    expect(registry.applyBeat(lightBeat(), 20_000)).toBe('renewed');
    expect(registry.get('i-1')).toMatchObject({ status: 'healthy', statusSince: 20_000, lastHeartbeatTime: 20_000 });
    expect(events).toEqual([
      expect.objectContaining({ time: 20_000, level: 'normal', type: 'instance.recovered', instance: expect.objectContaining({ instanceId: 'i-1' }), attributes: { from: 'lost' } }),
    ]);
    expect(registry.countByStatus()).toMatchObject({ healthy: 1, lost: 0 });
    // Back on a lease from the new beat: neither removed at the old removal time nor lost before its new deadline.
    advanceTo(20_000 + LOST_AFTER - 1);
    expect(registry.get('i-1')?.status).toBe('healthy');
    advanceTo(20_000 + LOST_AFTER);
    expect(registry.get('i-1')).toMatchObject({ status: 'lost', statusSince: 20_000 + LOST_AFTER });
  });

  it('raises a preserved.ip.delete.timeout smaller than the lost timeout to it: lost first, never removed while alive', () => {
    // Removal 1 s after the last beat, under the global 15 s lost timeout; and under an own 3 s one.
    registry.applyBeat(fullBeat({ instanceId: 'global', metadata: { 'preserved.ip.delete.timeout': '1000' } }), 0);
    registry.applyBeat(fullBeat({ instanceId: 'own', metadata: { 'preserved.ip.delete.timeout': '1000', 'preserved.heart.beat.timeout': '3000' } }), 0);
    expect(registry.leaseStateOf('global')).toMatchObject({ lostAfterMs: LOST_AFTER, removeAt: LOST_AFTER });
    expect(registry.leaseStateOf('own')).toMatchObject({ lostAfterMs: 3_000, removeAt: 3_000 });
    advanceTo(3_000 - 1);
    expect(registry.get('own')?.status).toBe('healthy');
    advanceTo(3_000);
    expect(registry.get('own')).toMatchObject({ status: 'lost', statusSince: 3_000 });
    // Its removal is due at the same moment: the next tick takes it.
    advanceTo(3_000 + TICK);
    expect(registry.get('own')).toBeUndefined();
    advanceTo(LOST_AFTER - 1);
    expect(registry.get('global')?.status).toBe('healthy');
    advanceTo(LOST_AFTER);
    expect(registry.get('global')).toMatchObject({ status: 'lost', statusSince: LOST_AFTER });
    advanceTo(LOST_AFTER + TICK);
    expect(registry.get('global')).toBeUndefined();
    // Each was lost (with its event) before it was removed, at the lost timeout, not at 1 s.
    const timeline = events.filter((e) => e.type !== 'instance.registered').map((e) => `${e.type} ${e.instance?.instanceId}`);
    expect(timeline).toEqual(['instance.lost own', 'instance.removed own', 'instance.lost global', 'instance.removed global']);
  });

  it('reports a renewal that changes nothing visible as a beat, and a changed ext-info as an upsert', () => {
    registry.applyBeat(fullBeat(), 0);
    changes.length = 0;
    registry.applyBeat(fullBeat(), 5_000);
    registry.applyBeat(lightBeat(), 10_000);
    expect(changes).toEqual([
      { type: 'beat', instanceId: 'i-1', time: 5_000 },
      { type: 'beat', instanceId: 'i-1', time: 10_000 },
    ]);
    registry.applyBeat(fullBeat({ plugins: [{ name: 'template', version: '1.2.0', extInfo: { status: 'stopping' } }] }), 15_000);
    expect(changes.at(-1)).toMatchObject({
      type: 'upsert',
      instance: { lastHeartbeatTime: 15_000, plugins: [{ extInfo: { status: 'stopping' } }] },
    });
  });

  it('tells a changed full beat from a repeated one field by field: order does not matter, any value does', () => {
    registry.applyBeat(fullBeat({ metadata: { zone: 'a', rack: '1' } }), 0);
    const reordered = Object.fromEntries(Object.entries(fullBeat({ metadata: { rack: '1', zone: 'a' } })).reverse()) as FullBeat;
    const visible: Array<Partial<FullBeat>> = [
      { ip: ['10.0.0.5', '10.0.0.6'] },
      { ip: ['10.0.0.6'] },
      { processId: 4243 },
      { dynamicInstall: true },
      { metadata: { zone: 'b', rack: '1' } },
      { metadata: { zone: 'a' } },
      { plugins: [{ name: 'template', version: '1.2.0', extInfo: { status: 'started' }, enabled: false }] },
      { plugins: [] },
    ];
    let t = 0;
    for (const change of visible) {
      changes.length = 0;
      registry.applyBeat(reordered, (t += 1_000));
      expect(changes.map((c) => c.type)).toEqual(['beat']);
      registry.applyBeat(fullBeat({ metadata: { zone: 'a', rack: '1' }, ...change }), (t += 1_000));
      expect(changes.map((c) => c.type), JSON.stringify(change)).toEqual(['beat', 'upsert']);
      expect(registry.get('i-1')).toMatchObject(change);
      registry.applyBeat(reordered, (t += 1_000));
    }
  });

  it('shows an instance offline at once on its goodbye, never lost, and removes it on time', () => {
    registry.applyBeat(fullBeat(), 1_000);
    expect(registry.applyBeat({ ...lightBeat(), kind: 'goodbye' }, 2_000)).toBe('offline');
    expect(registry.get('i-1')).toMatchObject({ status: 'offline', statusSince: 2_000 });
    advanceTo(1_000 + LOST_AFTER + 1);
    expect(registry.get('i-1')?.status).toBe('offline');
    advanceTo(1_000 + REMOVE_AFTER);
    expect(registry.get('i-1')).toBeUndefined();
  });

  it('takes an offline instance back as healthy when it beats again (a restart under the same id), with an event', () => {
    registry.applyBeat(fullBeat(), 1_000);
    registry.applyBeat({ ...lightBeat(), kind: 'goodbye' }, 2_000);
    expect(registry.applyBeat(lightBeat(), 3_000)).toBe('renewed');
    expect(registry.get('i-1')).toMatchObject({ status: 'healthy', statusSince: 3_000, lastHeartbeatTime: 3_000 });
    expect(events.at(-1)).toMatchObject({ type: 'instance.recovered', attributes: { from: 'offline' } });
    // Back on a lease: lost on time if it stops again.
    advanceTo(3_000 + LOST_AFTER);
    expect(registry.get('i-1')?.status).toBe('lost');
  });

  it('answers unknown to a goodbye from an instance it does not know', () => {
    expect(registry.applyBeat({ ...lightBeat('ghost'), kind: 'goodbye' }, 0)).toBe('unknown');
  });

  it('keeps beats of one instance from renewing another', () => {
    registry.applyBeat(fullBeat({ instanceId: 'a' }), 0);
    registry.applyBeat(fullBeat({ instanceId: 'b' }), 0);
    registry.applyBeat(lightBeat('a'), 10_000);
    advanceTo(LOST_AFTER);
    expect(registry.get('a')?.status).toBe('healthy');
    expect(registry.get('b')?.status).toBe('lost');
  });
});

describe('InstanceRegistry: suspect, overrides, stalls and self-preservation', () => {
  let registry: InstanceRegistry;
  let events: RegistryEvent[];
  let clock: number;

  function advanceTo(t: number): void {
    while (clock + TICK <= t) {
      clock += TICK;
      registry.tick(clock);
    }
  }

  function setUp(overrides: Partial<RegistryOptions> = {}): void {
    clock = 0;
    registry = new InstanceRegistry(options(overrides), 0);
    events = [];
    registry.onEvent((event) => events.push(event));
  }

  /** Beats instance `id` every `interval` ms from `from` to `to` (inclusive), advancing time. */
  function beatEvery(ids: string[], interval: number, from: number, to: number): void {
    for (let t = from; t <= to; t += interval) {
      advanceTo(t);
      for (const id of ids) {
        if (!registry.get(id)) registry.applyBeat(fullBeat({ instanceId: id }), t);
        else registry.applyBeat(lightBeat(id), t);
      }
    }
  }

  beforeEach(() => setUp());

  it('turns an instance suspect after two missed intervals, then lost at its timeout', () => {
    beatEvery(['a'], 5_000, 0, 10_000);
    advanceTo(10_000 + 10_000 - TICK);
    expect(registry.get('a')?.status).toBe('healthy');
    advanceTo(20_000);
    expect(registry.get('a')).toMatchObject({ status: 'suspect', statusSince: 20_000 });
    advanceTo(10_000 + LOST_AFTER - TICK);
    expect(registry.get('a')?.status).toBe('suspect');
    advanceTo(10_000 + LOST_AFTER);
    expect(registry.get('a')).toMatchObject({ status: 'lost', statusSince: 10_000 + LOST_AFTER });
    expect(events.map((e) => e.type)).toEqual(['instance.registered', 'instance.suspect', 'instance.lost']);
  });

  it('turns an instance beating fast suspect no sooner than one interval and a second after its last beat', () => {
    // Two missed intervals of 300 ms would be 600 ms: sub-second hiccups must not make it suspect.
    beatEvery(['a'], 300, 0, 3_000);
    const last = registry.get('a')!.lastHeartbeatTime;
    advanceTo(last + 300 + 1_000 - TICK);
    expect(registry.get('a')?.status).toBe('healthy');
    advanceTo(last + 300 + 1_000);
    expect(registry.get('a')).toMatchObject({ status: 'suspect', statusSince: last + 1_300 });
  });

  it('recovers a suspect instance on its next beat, with an event', () => {
    beatEvery(['a'], 5_000, 0, 10_000);
    advanceTo(21_000);
    expect(registry.get('a')?.status).toBe('suspect');
    registry.applyBeat(lightBeat('a'), 21_000);
    expect(registry.get('a')).toMatchObject({ status: 'healthy', statusSince: 21_000 });
    expect(events.at(-1)).toMatchObject({ type: 'instance.recovered', attributes: { from: 'suspect' } });
  });

  it('recovers an unhealthy persistent instance when its probes pass again (not on a beat), with an event', () => {
    const input = toInstanceInput({
      namespaceId: 'public', groupName: 'DEFAULT_GROUP', serviceName: 'db', clusterName: 'DEFAULT',
      ip: '10.0.0.1', port: 5432, weight: 1, enabled: true, ephemeral: false, metadata: {},
    });
    registry.upsert(input, 0);
    const id = input.instanceId;
    // The probe loop's verdict after 3 failures in a row (its hysteresis: nacos/probe-loop.test.ts).
    registry.setProbeResult(id, false, 5_000);
    expect(registry.get(id)).toMatchObject({ status: 'unhealthy', statusSince: 5_000 });
    expect(events.at(-1)).toMatchObject({ time: 5_000, level: 'important', type: 'instance.unhealthy', instance: { instanceId: id } });
    // A Nacos beat or re-registration refreshes it but does not overrule the probes.
    registry.upsert(input, 6_000);
    expect(registry.get(id)?.status).toBe('unhealthy');
    // Silence is no verdict either: far past the lost and remove timeouts it is still listed, unhealthy.
    advanceTo(REMOVE_AFTER + 10_000);
    expect(registry.get(id)?.status).toBe('unhealthy');
    registry.setProbeResult(id, true, clock);
    expect(registry.get(id)).toMatchObject({ status: 'healthy', statusSince: clock });
    expect(events.at(-1)).toMatchObject({ time: clock, level: 'normal', type: 'instance.recovered', instance: { instanceId: id } });
    expect(events.map((e) => e.type)).toEqual(['instance.registered', 'instance.unhealthy', 'instance.recovered']);
    expect(registry.countByStatus()).toMatchObject({ healthy: 1, unhealthy: 0 });
  });

  it('honours Nacos per-instance timing keys from metadata', () => {
    const metadata = {
      'preserved.heart.beat.interval': '1000',
      'preserved.heart.beat.timeout': '3000',
      'preserved.ip.delete.timeout': '9000',
    };
    registry.applyBeat(fullBeat({ instanceId: 'fast', metadata }), 0);
    expect(registry.configuredInterval('fast')).toBe(1_000);
    advanceTo(2_000);
    expect(registry.get('fast')?.status).toBe('suspect');
    advanceTo(3_000);
    expect(registry.get('fast')?.status).toBe('lost');
    advanceTo(9_000 - TICK);
    expect(registry.get('fast')).toBeDefined();
    advanceTo(9_000);
    expect(registry.get('fast')).toBeUndefined();
  });

  it('extends every lease by a stall of the backend instead of expiring the fleet', () => {
    beatEvery(['a', 'b'], 5_000, 0, 10_000);
    // The backend is frozen (SIGSTOP, a GC pause) for 30 s: no tick runs, no beat is read.
    clock += 30_000;
    registry.tick(clock);
    expect(registry.get('a')?.status).toBe('healthy');
    expect(events.at(-1)).toMatchObject({ type: 'backend.stall', attributes: { stallMs: String(30_000 - TICK) } });
    // The beats that queued up during the stall arrive now.
    registry.applyBeat(lightBeat('a'), clock);
    registry.applyBeat(lightBeat('b'), clock);
    expect(events.filter((e) => e.type === 'instance.lost')).toEqual([]);
  });

  it('counts no stall before its first tick: the time the backend takes to boot is not one', () => {
    // Built at 0; the app around it boots (modules, data dir, listen) for 3 s before the ticker starts.
    registry.tick(3_000);
    registry.tick(3_000 + TICK);
    expect(events.filter((e) => e.type === 'backend.stall')).toEqual([]);
  });

  it('still expires an instance that really stopped, one stall later than it would have', () => {
    registry.applyBeat(fullBeat({ instanceId: 'a' }), 0);
    advanceTo(1_000);
    clock += 5_000;
    registry.tick(clock);
    advanceTo(LOST_AFTER + 5_000 - 2 * TICK);
    expect(registry.get('a')?.status).toBe('healthy');
    advanceTo(LOST_AFTER + 5_000);
    expect(registry.get('a')?.status).toBe('lost');
  });

  it('holds a mass expiry as suspect (self-preservation) and expires only after a further timeout', () => {
    const fleet = Array.from({ length: 20 }, (_, i) => `i-${i}`);
    beatEvery(fleet, 5_000, 0, 10_000);
    // Every beat stops at once (a network partition, say).
    advanceTo(10_000 + LOST_AFTER);
    expect(registry.selfPreserving).toBe(true);
    expect(fleet.map((id) => registry.get(id)?.status)).toEqual(fleet.map(() => 'suspect'));
    expect(events.filter((e) => e.type === 'self-preservation.entered')).toHaveLength(1);
    expect(events.find((e) => e.type === 'self-preservation.entered')?.level).toBe('emergency');
    // Beats still absent a further timeout later: now they expire.
    advanceTo(10_000 + 2 * LOST_AFTER);
    expect(fleet.map((id) => registry.get(id)?.status)).toEqual(fleet.map(() => 'lost'));
  });

  it('leaves self-preservation when the fleet beats again', () => {
    const fleet = Array.from({ length: 20 }, (_, i) => `i-${i}`);
    beatEvery(fleet, 5_000, 0, 10_000);
    advanceTo(10_000 + LOST_AFTER + 1_000);
    expect(registry.selfPreserving).toBe(true);
    for (const id of fleet) registry.applyBeat(lightBeat(id), clock);
    advanceTo(clock + TICK);
    expect(registry.selfPreserving).toBe(false);
    expect(events.at(-1)).toMatchObject({ type: 'self-preservation.left', level: 'important' });
    expect(events.filter((e) => e.type === 'instance.lost')).toEqual([]);
  });

  it('lets a single instance of a large healthy fleet go lost on time', () => {
    const fleet = Array.from({ length: 20 }, (_, i) => `i-${i}`);
    beatEvery(fleet, 5_000, 0, 10_000);
    beatEvery(fleet.slice(1), 5_000, 15_000, 10_000 + LOST_AFTER);
    expect(registry.get('i-0')).toMatchObject({ status: 'lost', statusSince: 10_000 + LOST_AFTER });
    expect(registry.selfPreserving).toBe(false);
  });

  it('lets every instance of a small fleet go lost on time', () => {
    beatEvery(['a', 'b'], 5_000, 0, 10_000);
    advanceTo(10_000 + LOST_AFTER);
    expect(registry.get('a')?.status).toBe('lost');
    expect(registry.get('b')?.status).toBe('lost');
  });

  it('reports plugin installs, upgrades, removals and ext-info changes by diffing full beats', () => {
    registry.applyBeat(fullBeat({ instanceId: 'a' }), 0);
    registry.applyBeat(
      fullBeat({
        instanceId: 'a',
        plugins: [
          { name: 'template', version: '1.3.0', extInfo: { status: 'started' } },
          { name: 'http', version: '0.1.0', extInfo: {} },
        ],
      }),
      1_000,
    );
    registry.applyBeat(fullBeat({ instanceId: 'a', plugins: [{ name: 'template', version: '1.3.0', extInfo: { status: 'busy' } }] }), 2_000);
    expect(events.slice(1).map((e) => `${e.type} ${e.attributes?.plugin}`)).toEqual([
      'plugin.upgraded template',
      'plugin.installed http',
      'plugin.ext-info-changed template',
      'plugin.removed http',
    ]);
  });

  it('records a plugin whose ext-info is a counter (a change every beat) at a bounded rate, not once per beat', () => {
    for (let t = 0, count = 0; t < 5 * 60_000; t += 5_000, count++) {
      advanceTo(t);
      registry.applyBeat(fullBeat({ instanceId: 'a', plugins: [{ name: 'counter', version: '1.0.0', extInfo: { requests: String(count) } }] }), t);
    }
    const changed = events.filter((e) => e.type === 'plugin.ext-info-changed');
    // 59 changes: three as they came, then one a minute, each saying how many changes it stands for.
    expect(changed.length).toBeLessThanOrEqual(8);
    expect(changed.at(-1)).toMatchObject({ message: 'counter: requests=49 (12 changes)', attributes: { plugin: 'counter', changes: '12' } });
    expect(registry.get('a')?.plugins[0]?.extInfo).toEqual({ requests: '59' });
  });

  it('lets no instance with timings of its own tip the fleet into self-preservation (15 beats of one scoped token)', () => {
    const fleet = Array.from({ length: 10 }, (_, i) => `payments-${i}`);
    const attackers = Array.from({ length: 15 }, (_, i) => `orders-${i}`);
    const metadata = { 'preserved.heart.beat.interval': '100', 'preserved.heart.beat.timeout': String(30 * 86_400_000) };
    beatEvery(fleet, 5_000, 0, 10_000);
    // One beat each at 100 ms, then silence: suspect after 1.1 s, and (unclamped) for 30 days.
    for (let t = 10_000; t < 11_500; t += 100) {
      advanceTo(t);
      for (const id of attackers) registry.applyBeat(fullBeat({ instanceId: id, service: 'orders', metadata }), t);
    }
    // payments-0 really dies; the rest of payments beats on.
    beatEvery(fleet.slice(1), 5_000, 15_000, 10_000 + LOST_AFTER);
    expect(attackers.map((id) => registry.get(id)?.status)).toEqual(attackers.map(() => 'suspect'));
    expect(registry.get('payments-0')).toMatchObject({ status: 'lost', statusSince: 10_000 + LOST_AFTER });
    expect(registry.selfPreserving).toBe(false);
    expect(events.filter((e) => e.type === 'self-preservation.entered')).toEqual([]);
  });

  it('still holds the fleet when it falls silent at once, instances with timings of their own included', () => {
    const fleet = Array.from({ length: 20 }, (_, i) => `i-${i}`);
    const metadata = { 'preserved.heart.beat.timeout': '20000' };
    beatEvery(fleet, 5_000, 0, 10_000);
    registry.applyBeat(fullBeat({ instanceId: 'own', metadata }), 10_000);
    advanceTo(10_000 + LOST_AFTER);
    expect(registry.selfPreserving).toBe(true);
    advanceTo(10_000 + 20_000);
    expect(registry.get('own')?.status).toBe('suspect');
  });

  it('judges mirrored instances (redis mode: the claim holds on this verdict) by the same rule', () => {
    const mirrored = (id: string, metadata: Record<string, string>) => {
      const beat = fullBeat({ instanceId: id, metadata });
      const { v: _v, kind: _kind, heartbeatTime: _h, lastHeartbeatTime: _l, ...identity } = beat;
      registry.applyRemoteUpsert({ ...identity, source: 'agent', ephemeral: true, metadata, status: 'healthy', registeredAt: 0, lastHeartbeatTime: 0, statusSince: 0 });
    };
    const own = { 'preserved.heart.beat.interval': '100', 'preserved.heart.beat.timeout': String(30 * 86_400_000) };
    for (let i = 0; i < 10; i++) mirrored(`payments-${i}`, {});
    for (let i = 0; i < 15; i++) {
      mirrored(`orders-${i}`, own);
      registry.applyRemoteTransition(`orders-${i}`, 'suspect', 1_100, 30 * 86_400_000, false);
    }
    expect(registry.expiryLooksMassive(2_000)).toBe(false);
    for (let i = 0; i < 5; i++) registry.applyRemoteTransition(`payments-${i}`, 'suspect', 10_000, LOST_AFTER, false);
    expect(registry.expiryLooksMassive(12_000)).toBe(true);
  });

  it('shows self-preservation on a mirror (redis mode) from the store\'s hold until the overdue share drops, without events', () => {
    const fleet = Array.from({ length: 20 }, (_, i) => `i-${i}`);
    for (const id of fleet) {
      const { v: _v, kind: _kind, heartbeatTime: _h, lastHeartbeatTime: _l, ...identity } = fullBeat({ instanceId: id });
      registry.applyRemoteUpsert({ ...identity, source: 'agent', ephemeral: true, metadata: {}, status: 'healthy', registeredAt: 0, lastHeartbeatTime: 0, statusSince: 0 });
    }
    for (const id of fleet) registry.applyRemoteTransition(id, 'suspect', 10_000, LOST_AFTER, false);
    registry.settleSelfPreservation(12_000);
    expect(registry.selfPreserving).toBe(false);
    // The claim script held the lost timeouts (h = 1): the claiming replica and the feed's readers alike.
    for (const id of fleet) registry.applyRemoteTransition(id, 'suspect', 10_000, 2 * LOST_AFTER, true);
    registry.settleSelfPreservation(LOST_AFTER + 100);
    expect(registry.selfPreserving).toBe(true);
    // Most beat again (through another replica): below the ratio, it is over.
    for (const id of fleet.slice(1)) registry.applyRemoteBeat(id, LOST_AFTER + 200);
    registry.settleSelfPreservation(LOST_AFTER + 220);
    expect(registry.selfPreserving).toBe(false);
    expect(events).toEqual([]);
  });

  it('clamps per-instance timeouts to ten times the global ones, and keeps shorter ones as given', () => {
    const metadata = { 'preserved.heart.beat.timeout': String(30 * 86_400_000), 'preserved.ip.delete.timeout': String(60 * 86_400_000), 'preserved.heart.beat.interval': '3600000' };
    registry.applyBeat(fullBeat({ instanceId: 'a', metadata }), 0);
    expect(registry.lostAfter('a')).toBe(10 * LOST_AFTER);
    expect(registry.leaseStateOf('a')).toMatchObject({ lostAfterMs: 10 * LOST_AFTER, removeAt: 10 * REMOVE_AFTER });
    expect(registry.configuredInterval('a')).toBe(10 * LOST_AFTER);
    // A cron job's short timeout under a long global one is its own affair (the dashboard's wallboard test relies on it).
    registry.applyBeat(fullBeat({ instanceId: 'b', metadata: { 'preserved.heart.beat.timeout': '1' } }), 0);
    expect(registry.lostAfter('b')).toBe(1);
  });

  it('turns no instance suspect when its queued beats arrive in a burst after a stall of the backend', () => {
    const fleet = Array.from({ length: 5 }, (_, i) => `i-${i}`);
    beatEvery(fleet, 1_000, 0, 10_000);
    // Frozen 20 s (SIGSTOP). On SIGCONT the beats queued meanwhile are read back to back, some
    // before the first tick notices the stall, the rest after it.
    clock += 20_000;
    for (let n = 0; n < 4; n++) registry.applyBeat(lightBeat('i-0'), clock + n);
    registry.tick(clock);
    for (const id of fleet.slice(1)) for (let n = 0; n < 4; n++) registry.applyBeat(lightBeat(id), clock + 5 + n);
    // The agents beat on their own schedule again, a little late after their wait.
    beatEvery(fleet, 1_000, clock + 1_300, clock + 10_000);
    expect(events.filter((e) => e.type === 'instance.suspect')).toEqual([]);
  });

  it('keeps counts by status in step with transitions', () => {
    beatEvery(['a', 'b', 'c'], 5_000, 0, 10_000);
    registry.applyBeat({ ...lightBeat('c'), kind: 'goodbye' }, 10_000);
    beatEvery(['a'], 5_000, 15_000, 25_000);
    expect(registry.countByStatus()).toEqual({ healthy: 1, suspect: 0, lost: 1, offline: 1, unhealthy: 0 });
  });
});
