import type { Delta, Instance, Snapshot } from '@vigil/protocol';
import { describe, expect, it, vi } from 'vitest';
import { createInstanceStore, type InstanceStoreOptions } from './instance-store';

const NOW = 1_700_000_000_000;

function instance(overrides: Partial<Instance> & Pick<Instance, 'instanceId'>): Instance {
  return {
    source: 'agent',
    metadata: {},
    ephemeral: true,
    service: 'orders',
    appName: 'shop',
    artifact: 'orders-service',
    appType: 'node',
    hostName: 'host-1',
    ip: ['10.0.0.1'],
    processId: 4242,
    dynamicInstall: false,
    version: '1.0.0',
    plugins: [{ name: 'http', version: '1.2.0', extInfo: { port: '3000' } }],
    status: 'healthy',
    registeredAt: NOW - 60_000,
    lastHeartbeatTime: NOW - 1_000,
    statusSince: NOW - 60_000,
    ...overrides,
  };
}

function snapshot(instances: Instance[], serverTime = NOW): Snapshot {
  return { instances, serverTime };
}

function delta(changes: Partial<Omit<Delta, 'serverTime'>>, serverTime = NOW): Delta {
  return { upserts: [], removed: [], beats: {}, events: [], serverTime, ...changes };
}

function setup(options: InstanceStoreOptions = {}) {
  const warn = vi.fn<(message: string) => void>();
  const store = createInstanceStore({ now: () => NOW, warn, ...options });
  const ids = () => store.getSnapshot().instances.map((i) => i.instanceId);
  const byId = (id: string) => store.getSnapshot().instances.find((i) => i.instanceId === id);
  return { store, warn, ids, byId };
}

describe('instance store', () => {
  it('starts empty, unsynced and connecting', () => {
    const { store } = setup();
    expect(store.getSnapshot()).toEqual({ instances: [], synced: false, connection: 'connecting', clockOffsetMs: 0 });
  });

  it('applySnapshot replaces all instances and marks the store synced', () => {
    const { store, ids } = setup();
    store.applySnapshot(snapshot([instance({ instanceId: 'a' }), instance({ instanceId: 'b' })]));
    store.applySnapshot(snapshot([instance({ instanceId: 'c' })]));

    expect(ids()).toEqual(['c']);
    expect(store.getSnapshot().synced).toBe(true);
  });

  it('sorts by service, then host (numeric-aware), then instance id', () => {
    const { store, ids } = setup();
    store.applySnapshot(
      snapshot([
        instance({ instanceId: 'z', service: 'payments', hostName: 'host-1' }),
        instance({ instanceId: 'y', service: 'orders', hostName: 'host-10' }),
        instance({ instanceId: 'x', service: 'orders', hostName: 'host-2' }),
        instance({ instanceId: 'b', service: 'orders', hostName: 'host-2' }),
      ]),
    );
    expect(ids()).toEqual(['b', 'x', 'y', 'z']);
  });

  it('keeps the server clock offset from every message', () => {
    const { store } = setup();
    store.applySnapshot(snapshot([], NOW + 2_500));
    expect(store.getSnapshot().clockOffsetMs).toBe(2_500);

    store.applyDelta(delta({}, NOW - 700));
    expect(store.getSnapshot().clockOffsetMs).toBe(-700);
  });

  it('upserts add new instances and replace known ones whole', () => {
    const { store, ids, byId } = setup();
    store.applySnapshot(snapshot([instance({ instanceId: 'a' })]));

    const lostA = instance({ instanceId: 'a', status: 'lost', plugins: [], statusSince: NOW });
    store.applyDelta(delta({ upserts: [lostA, instance({ instanceId: 'b', hostName: 'host-2' })] }));

    expect(ids()).toEqual(['a', 'b']);
    expect(byId('a')).toEqual(lostA);
  });

  it('removes deleted ids and ignores ids it does not know', () => {
    const { store, ids } = setup();
    store.applySnapshot(snapshot([instance({ instanceId: 'a' }), instance({ instanceId: 'b' })]));

    store.applyDelta(delta({ removed: ['a', 'never-seen'] }));

    expect(ids()).toEqual(['b']);
  });

  it('a beat of a known instance updates only its lastHeartbeatTime', () => {
    const { store, byId } = setup();
    const a = instance({ instanceId: 'a', status: 'lost' });
    store.applySnapshot(snapshot([a]));

    store.applyDelta(delta({ beats: { a: NOW + 5_000 } }));

    expect(byId('a')).toEqual({ ...a, lastHeartbeatTime: NOW + 5_000 });
  });

  it('a beat of an unknown instance does not create it', () => {
    const { store, ids } = setup();
    store.applySnapshot(snapshot([instance({ instanceId: 'a' })]));
    const before = store.getSnapshot().instances;

    store.applyDelta(delta({ beats: { ghost: NOW } }));

    expect(ids()).toEqual(['a']);
    expect(store.getSnapshot().instances).toBe(before);
  });

  it('a beat never moves lastHeartbeatTime backwards', () => {
    const { store, byId } = setup();
    store.applySnapshot(snapshot([instance({ instanceId: 'a', lastHeartbeatTime: NOW })]));

    store.applyDelta(delta({ beats: { a: NOW - 3_000 } }));

    expect(byId('a')?.lastHeartbeatTime).toBe(NOW);
  });

  it('applies upserts before removals and beats within one delta', () => {
    const { store, ids, byId } = setup();
    store.applySnapshot(snapshot([]));

    store.applyDelta(
      delta({
        upserts: [instance({ instanceId: 'a', lastHeartbeatTime: NOW }), instance({ instanceId: 'b' })],
        removed: ['b'],
        beats: { a: NOW + 1_000, b: NOW + 1_000 },
      }),
    );

    expect(ids()).toEqual(['a']);
    expect(byId('a')?.lastHeartbeatTime).toBe(NOW + 1_000);
  });

  it('ignores and reports an invalid snapshot', () => {
    const { store, warn, ids } = setup();
    store.applySnapshot(snapshot([instance({ instanceId: 'a' })]));
    const before = store.getSnapshot();

    const bad = { instances: [{ ...instance({ instanceId: 'b' }), status: 'zombie' }], serverTime: NOW };
    expect(store.applySnapshot(bad)).toBe(false);

    expect(store.getSnapshot()).toBe(before);
    expect(ids()).toEqual(['a']);
    expect(warn).toHaveBeenCalledOnce();
    expect(warn.mock.calls[0]?.[0]).toMatch(/invalid snapshot.*instances\.0\.status/);
  });

  it('ignores and reports an invalid delta', () => {
    const { store, warn, byId } = setup();
    store.applySnapshot(snapshot([instance({ instanceId: 'a', lastHeartbeatTime: NOW })]));
    const before = store.getSnapshot();

    expect(store.applyDelta({ upserts: [], removed: ['a'], beats: { a: 'soon' }, serverTime: NOW })).toBe(false);
    expect(store.applyDelta(null)).toBe(false);

    expect(store.getSnapshot()).toBe(before);
    expect(byId('a')?.lastHeartbeatTime).toBe(NOW);
    expect(warn).toHaveBeenCalledTimes(2);
    expect(warn.mock.calls[0]?.[0]).toMatch(/invalid delta.*beats\.a/);
  });

  it('notifies subscribers and hands out a new snapshot only on change', () => {
    const { store } = setup();
    const listener = vi.fn();
    const unsubscribe = store.subscribe(listener);
    const first = store.getSnapshot();
    expect(store.getSnapshot()).toBe(first);

    store.applySnapshot(snapshot([instance({ instanceId: 'a' })]));
    expect(listener).toHaveBeenCalledOnce();
    const second = store.getSnapshot();
    expect(second).not.toBe(first);
    expect(store.getSnapshot()).toBe(second);

    unsubscribe();
    store.applyDelta(delta({ removed: ['a'] }));
    expect(listener).toHaveBeenCalledOnce();
    expect(store.getSnapshot().instances).toEqual([]);
  });

  it('does not mutate instances or arrays it has handed out', () => {
    const { store } = setup();
    store.applySnapshot(snapshot([instance({ instanceId: 'a', lastHeartbeatTime: NOW })]));
    const before = store.getSnapshot();
    const a = before.instances[0];

    store.applyDelta(delta({ beats: { a: NOW + 1_000 } }));

    expect(a?.lastHeartbeatTime).toBe(NOW);
    expect(before.instances).toHaveLength(1);
    expect(store.getSnapshot().instances[0]).not.toBe(a);
  });

  it('tracks the connection state without touching the instances', () => {
    const { store } = setup();
    store.applySnapshot(snapshot([instance({ instanceId: 'a' })]));
    const { instances } = store.getSnapshot();
    const listener = vi.fn();
    store.subscribe(listener);

    store.setConnection('connected');
    store.setConnection('connected');
    expect(listener).toHaveBeenCalledOnce();
    expect(store.getSnapshot().connection).toBe('connected');

    store.setConnection('disconnected');
    expect(store.getSnapshot()).toMatchObject({ connection: 'disconnected', synced: true });
    expect(store.getSnapshot().instances).toBe(instances);
  });
});
