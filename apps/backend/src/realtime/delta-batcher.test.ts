import type { EventRecord, Instance } from '@vigil/protocol';
import { describe, expect, it } from 'vitest';
import { DeltaBatcher, MAX_EVENTS_PER_DELTA } from './delta-batcher.js';

function instance(instanceId: string, overrides: Partial<Instance> = {}): Instance {
  return {
    instanceId,
    source: 'agent',
    service: 'orders',
    appName: 'shop',
    artifact: 'orders',
    appType: 'default',
    hostName: 'host-1',
    ip: [],
    processId: 1,
    dynamicInstall: false,
    version: '0.1.0',
    plugins: [],
    metadata: {},
    ephemeral: true,
    status: 'healthy',
    registeredAt: 0,
    lastHeartbeatTime: 0,
    statusSince: 0,
    metrics: null,
    health: null,
    ...overrides,
  };
}

function event(id: number): EventRecord {
  return { id: String(id), time: id, level: 'normal', type: 'instance.registered', origin: 'backend', message: '', attributes: {} };
}

describe('DeltaBatcher', () => {
  it('pairs each changed instance with the version dashboards last knew', () => {
    const a = instance('a');
    const batcher = new DeltaBatcher([a]);
    const lost = instance('a', { status: 'lost' });
    const offline = instance('a', { status: 'offline' });

    expect(batcher.add({ type: 'upsert', instance: lost })).toEqual({ before: a, after: lost });
    expect(batcher.add({ type: 'upsert', instance: offline })).toEqual({ before: lost, after: offline });

    expect(batcher.take()?.changes).toEqual(new Map([['a', { before: a, after: offline }]]));
    expect(batcher.take()).toBeNull();
    // The next batch starts from what the previous one ended with.
    expect(batcher.add({ type: 'removed', instanceId: 'a' })).toEqual({ before: offline, after: undefined });
  });

  it('reports new and removed instances, and forgets one that came and went within a batch', () => {
    const a = instance('a');
    const batcher = new DeltaBatcher([a]);
    const b = instance('b');
    batcher.add({ type: 'upsert', instance: b });
    batcher.add({ type: 'removed', instanceId: 'a' });
    batcher.add({ type: 'upsert', instance: instance('c') });
    batcher.add({ type: 'removed', instanceId: 'c' });

    expect(batcher.take()?.changes).toEqual(
      new Map([
        ['b', { before: undefined, after: b }],
        ['a', { before: a, after: undefined }],
      ]),
    );
    expect(batcher.add({ type: 'upsert', instance: a })).toEqual({ before: undefined, after: a });
  });

  it('keeps plain renewals as beat times, unless the instance is sent whole anyway', () => {
    const batcher = new DeltaBatcher([instance('a'), instance('b')]);
    expect(batcher.add({ type: 'beat', instanceId: 'a', time: 5, metrics: null })).toBeNull();
    batcher.add({ type: 'beat', instanceId: 'a', time: 7, metrics: null });
    batcher.add({ type: 'beat', instanceId: 'b', time: 5, metrics: null });
    batcher.add({ type: 'upsert', instance: instance('b', { status: 'suspect' }) });
    batcher.add({ type: 'beat', instanceId: 'b', time: 9, metrics: null });

    const batch = batcher.take();
    expect(batch?.beats).toEqual(new Map([['a', 7]]));
    expect([...(batch?.changes.keys() ?? [])]).toEqual(['b']);
  });

  it('keeps the newest events of a burst', () => {
    const batcher = new DeltaBatcher([]);
    for (let i = 0; i < MAX_EVENTS_PER_DELTA + 5; i++) batcher.addEvent(event(i));
    const events = batcher.take()?.events ?? [];
    expect(events).toHaveLength(MAX_EVENTS_PER_DELTA);
    expect(events[0]?.id).toBe('5');
    expect(events.at(-1)?.id).toBe(String(MAX_EVENTS_PER_DELTA + 4));
  });
});
