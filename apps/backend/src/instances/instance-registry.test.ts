import type { FullBeat } from '@vigil/protocol';
import { beforeEach, describe, expect, it } from 'vitest';
import type { InstanceRegistry, RegistryChange, RegistryEvent } from './instance-registry.js';
import { fullBeat, lightBeat, LOST_AFTER, RegistryDriver } from './registry-fixtures.js';

describe('InstanceRegistry: beats in, instances, changes and counts out', () => {
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

  it('answers unknown to a goodbye from an instance it does not know', () => {
    expect(registry.applyBeat({ ...lightBeat('ghost'), kind: 'goodbye' }, 0)).toBe('unknown');
  });

  it('reports a renewal that changes nothing visible as a beat, and a changed ext-info as an upsert', () => {
    registry.applyBeat(fullBeat(), 0);
    changes.length = 0;
    registry.applyBeat(fullBeat(), 5_000);
    registry.applyBeat(lightBeat(), 10_000);
    expect(changes).toEqual([
      { type: 'beat', instanceId: 'i-1', time: 5_000, metrics: null },
      { type: 'beat', instanceId: 'i-1', time: 10_000, metrics: null },
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
      expect(
        changes.map((c) => c.type),
        JSON.stringify(change),
      ).toEqual(['beat', 'upsert']);
      expect(registry.get('i-1')).toMatchObject(change);
      registry.applyBeat(reordered, (t += 1_000));
    }
  });

  it('keeps beats of one instance from renewing another', () => {
    registry.applyBeat(fullBeat({ instanceId: 'a' }), 0);
    registry.applyBeat(fullBeat({ instanceId: 'b' }), 0);
    registry.applyBeat(lightBeat('a'), 10_000);
    advanceTo(LOST_AFTER);
    expect(registry.get('a')?.status).toBe('healthy');
    expect(registry.get('b')?.status).toBe('lost');
  });

  it('keeps counts by status in step with transitions', () => {
    beatEvery(['a', 'b', 'c'], 5_000, 0, 10_000);
    registry.applyBeat({ ...lightBeat('c'), kind: 'goodbye' }, 10_000);
    beatEvery(['a'], 5_000, 15_000, 25_000);
    expect(registry.countByStatus()).toEqual({ healthy: 1, suspect: 0, lost: 1, offline: 1, unhealthy: 0 });
  });
});
