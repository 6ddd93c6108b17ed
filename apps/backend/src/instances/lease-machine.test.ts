import { beforeEach, describe, expect, it } from 'vitest';
import { toInstanceInput } from '../nacos/nacos-instance.js';
import type { InstanceRegistry, RegistryChange, RegistryEvent } from './instance-registry.js';
import { fullBeat, lightBeat, LOST_AFTER, RegistryDriver, REMOVE_AFTER, TICK } from './registry-fixtures.js';

describe('LeaseMachine (through the registry): healthy, suspect, lost, offline, removed', () => {
  let d: RegistryDriver;
  let registry: InstanceRegistry;
  let changes: RegistryChange[];
  let events: RegistryEvent[];
  const advanceTo = (t: number) => d.advanceTo(t);
  const beatEvery = (ids: string[], interval: number, from: number, to: number) => d.beatEvery(ids, interval, from, to);

  beforeEach(() => {
    d = new RegistryDriver();
    ({ registry, changes, events } = d);
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
    d.clock = 1_000 + LOST_AFTER + 495;
    registry.tick(d.clock);
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
      expect.objectContaining({
        time: 20_000,
        level: 'normal',
        type: 'instance.recovered',
        instance: expect.objectContaining({ instanceId: 'i-1' }),
        attributes: { from: 'lost' },
      }),
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
    registry.applyBeat(
      fullBeat({ instanceId: 'own', metadata: { 'preserved.ip.delete.timeout': '1000', 'preserved.heart.beat.timeout': '3000' } }),
      0,
    );
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
      namespaceId: 'public',
      groupName: 'DEFAULT_GROUP',
      serviceName: 'db',
      clusterName: 'DEFAULT',
      ip: '10.0.0.1',
      port: 5432,
      weight: 1,
      enabled: true,
      ephemeral: false,
      metadata: {},
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
    registry.setProbeResult(id, true, d.clock);
    expect(registry.get(id)).toMatchObject({ status: 'healthy', statusSince: d.clock });
    expect(events.at(-1)).toMatchObject({ time: d.clock, level: 'normal', type: 'instance.recovered', instance: { instanceId: id } });
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

  it('clamps per-instance timeouts to ten times the global ones, and keeps shorter ones as given', () => {
    const metadata = {
      'preserved.heart.beat.timeout': String(30 * 86_400_000),
      'preserved.ip.delete.timeout': String(60 * 86_400_000),
      'preserved.heart.beat.interval': '3600000',
    };
    registry.applyBeat(fullBeat({ instanceId: 'a', metadata }), 0);
    expect(registry.lostAfter('a')).toBe(10 * LOST_AFTER);
    expect(registry.leaseStateOf('a')).toMatchObject({ lostAfterMs: 10 * LOST_AFTER, removeAt: 10 * REMOVE_AFTER });
    expect(registry.configuredInterval('a')).toBe(10 * LOST_AFTER);
    // A cron job's short timeout under a long global one is its own affair (the dashboard's wallboard test relies on it).
    registry.applyBeat(fullBeat({ instanceId: 'b', metadata: { 'preserved.heart.beat.timeout': '1' } }), 0);
    expect(registry.lostAfter('b')).toBe(1);
  });
});
