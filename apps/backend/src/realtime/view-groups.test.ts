import type { FullBeat, ViewRequest } from '@vigil/protocol';
import { beforeEach, describe, expect, it } from 'vitest';
import { InstanceRegistry } from '../instances/instance-registry.js';
import { DeltaBatcher } from './delta-batcher.js';
import { ViewGroups } from './view-groups.js';

const REFRESH_MS = 1_000;

function fullBeat(instanceId: string, overrides: Partial<FullBeat> = {}): FullBeat {
  return {
    v: 1,
    kind: 'full',
    instanceId,
    heartbeatTime: 0,
    lastHeartbeatTime: null,
    service: 'orders',
    appName: 'shop',
    artifact: 'orders',
    appType: 'default',
    hostName: `host-${instanceId}`,
    ip: [],
    processId: 1,
    dynamicInstall: false,
    version: '0.1.0',
    plugins: [],
    ...overrides,
  };
}

const goodbye = (instanceId: string) => ({ v: 1, kind: 'goodbye', instanceId, heartbeatTime: 0, lastHeartbeatTime: 0 }) as const;
const light = (instanceId: string) => ({ v: 1, kind: 'light', instanceId, heartbeatTime: 0, lastHeartbeatTime: 0 }) as const;
const figures = (cpu: number) => [cpu, 1e8, 1e7, 1e9, 1, 2, 3, 0.2, 0, 10, 5];

describe('ViewGroups', () => {
  let registry: InstanceRegistry;
  let batcher: DeltaBatcher;
  let views: ViewGroups;
  let cost: number;

  beforeEach(() => {
    registry = new InstanceRegistry(
      {
        timings: { intervalMs: null, lostAfterMs: 60_000, removeAfterMs: 600_000 },
        suspectAfterIntervals: 2,
        tickMs: 20,
        stallThresholdMs: 1_000,
        selfPreservation: { minInstances: 10, ratio: 0.5 },
        historySize: 8,
      },
      0,
    );
    for (const id of ['a', 'b', 'c', 'd']) registry.applyBeat(fullBeat(id), 0);
    batcher = new DeltaBatcher(registry.list());
    registry.onChange((change) => batcher.add(change));
    cost = 0;
    // Each reading of the monotonic clock is `cost` later than the previous one: a query costs `cost`.
    let clock = 0;
    views = new ViewGroups(registry, { refreshMinMs: REFRESH_MS, measure: () => (clock += cost) });
  });

  const byHost: ViewRequest = { window: { sort: 'hostName', offset: 0, limit: 2 }, watch: [] };

  it('starts a view from its window of the sorted list and the total', () => {
    const { group, window } = views.join(byHost, 0);
    expect(group).not.toBeNull();
    expect(window).toMatchObject({ offset: 0, total: 4 });
    expect(window?.instances.map((i) => i.instanceId)).toEqual(['a', 'b']);
  });

  it('sends a status change of a row on screen in the next delta, in place, without re-querying', () => {
    const { group } = views.join(byHost, 0);
    registry.applyBeat(goodbye('b'), 100);
    const delta = views.flush(batcher.take(), 200).get(group!);
    expect(delta?.upserts.map((i) => [i.instanceId, i.status])).toEqual([['b', 'offline']]);
    expect(delta?.window).toBeUndefined();
  });

  it('wants the beats of what some view shows only: rows, watched ids, or everything when sorted by last beat', () => {
    expect(views.wantsBeat('a')).toBe(false);
    const { group } = views.join(byHost, 0);
    expect(['a', 'b', 'c', 'd'].map((id) => views.wantsBeat(id))).toEqual([true, true, false, false]);
    views.join({ window: null, watch: ['d'] }, 0);
    expect(['a', 'b', 'c', 'd'].map((id) => views.wantsBeat(id))).toEqual([true, true, false, true]);
    views.leave(group!);
    expect(['a', 'b', 'c', 'd'].map((id) => views.wantsBeat(id))).toEqual([false, false, false, true]);
    views.join({ window: { sort: 'lastHeartbeatTime', order: 'desc', offset: 0, limit: 1 }, watch: [] }, 0);
    expect(['a', 'b', 'c', 'd'].map((id) => views.wantsBeat(id))).toEqual([true, true, true, true]);
  });

  it('sends beats of rows on screen only', () => {
    const { group } = views.join(byHost, 0);
    registry.applyBeat(light('a'), 100);
    registry.applyBeat(light('d'), 100);
    expect(views.flush(batcher.take(), 200).get(group!)).toEqual({ upserts: [], removed: [], beats: { a: 100 } });
  });

  it('sends the metrics of rows on screen whose beats brought them, beside their beat times, not the whole instance', () => {
    const { group } = views.join(byHost, 0);
    registry.applyBeat({ ...light('a'), metrics: figures(42) }, 100);
    registry.applyBeat(light('b'), 100);
    registry.applyBeat({ ...light('d'), metrics: figures(7) }, 100);
    expect(views.flush(batcher.take(), 200).get(group!)).toEqual({
      upserts: [],
      removed: [],
      beats: { a: 100, b: 100 },
      metrics: { a: expect.objectContaining({ cpu: 42, sampledAt: 100 }) },
    });
  });

  it('sorted by CPU, wants every beat and queries the window again as the figures move', () => {
    for (const [id, cpu] of [
      ['a', 10],
      ['b', 20],
      ['c', 30],
      ['d', 40],
    ] as const)
      registry.applyBeat({ ...light(id), metrics: figures(cpu) }, 50);
    batcher.take();
    const { group, window } = views.join({ window: { sort: 'cpu', offset: 0, limit: 2 }, watch: [] }, 0);
    expect(window?.instances.map((i) => i.instanceId)).toEqual(['d', 'c']);
    expect(views.wantsBeat('a')).toBe(true);
    registry.applyBeat({ ...light('a'), metrics: figures(99) }, 100);
    views.flush(batcher.take(), 200);
    expect(views.flush(null, REFRESH_MS).get(group!)?.window).toEqual({ total: 4, ids: ['a', 'd'] });
  });

  it('filters a window by reported health: an instance reporting down enters a health=down view', () => {
    const { group } = views.join({ window: { health: ['down'], sort: 'hostName', offset: 0, limit: 10 }, watch: [] }, 0);
    registry.applyBeat(fullBeat('c', { health: { status: 'down', indicators: { db: { status: 'down' } } } }), 100);
    views.flush(batcher.take(), 200);
    const delta = views.flush(null, REFRESH_MS).get(group!);
    expect(delta?.window).toEqual({ total: 1, ids: ['c'] });
    expect(delta?.upserts.map((i) => [i.instanceId, i.status, i.health?.status])).toEqual([['c', 'unhealthy', 'down']]);
  });

  it('re-queries a window whose membership may have changed at most once per refresh period', () => {
    const { group } = views.join(byHost, 0);
    registry.applyBeat(fullBeat('0'), 100);
    // Joined at 0: the window was just queried, so the new first row waits for the throttle.
    expect(views.flush(batcher.take(), 200).get(group!)).toBeUndefined();
    const delta = views.flush(null, REFRESH_MS).get(group!);
    expect(delta?.window).toEqual({ total: 5, ids: ['0', 'a'] });
    expect(delta?.upserts.map((i) => i.instanceId)).toEqual(['0']);
  });

  it('notices an instance leaving a filtered list though it was not on screen', () => {
    const { group } = views.join({ window: { status: ['healthy'], sort: 'hostName', offset: 0, limit: 1 }, watch: [] }, 0);
    registry.applyBeat(goodbye('d'), 100);
    views.flush(batcher.take(), 200);
    expect(views.flush(null, REFRESH_MS).get(group!)?.window).toEqual({ total: 3, ids: ['a'] });
  });

  it('re-queries less often when a query is slow, so it takes at most a tenth of the time', () => {
    cost = 400;
    const { group } = views.join(byHost, 0);
    registry.applyBeat(fullBeat('0'), 100);
    views.flush(batcher.take(), 200);
    expect(views.flush(null, REFRESH_MS).get(group!)).toBeUndefined();
    expect(views.flush(null, 3_999).get(group!)).toBeUndefined();
    expect(views.flush(null, 4_000).get(group!)?.window?.ids).toEqual(['0', 'a']);
  });

  it('follows watched instances until they are removed', () => {
    const { group, watched } = views.join({ window: null, watch: ['c', 'zz'] }, 0);
    expect(watched.map((i) => i.instanceId)).toEqual(['c']);
    registry.applyBeat(goodbye('c'), 100);
    expect(
      views
        .flush(batcher.take(), 200)
        .get(group!)
        ?.upserts.map((i) => i.status),
    ).toEqual(['offline']);
    registry.remove('c', 300);
    expect(views.flush(batcher.take(), 400).get(group!)?.removed).toEqual(['c']);
  });

  it('lets equal views share a group, and drops a group with its last member', () => {
    const first = views.join({ window: { status: ['lost', 'healthy'], sort: 'service', offset: 0, limit: 10 }, watch: [] }, 0);
    const second = views.join({ window: { status: ['healthy', 'lost'], sort: 'service', offset: 0, limit: 10 }, watch: [] }, 0);
    expect(second.group).toBe(first.group);
    expect(views.join({ window: null, watch: [] }, 0).group).toBeNull();
    views.leave(first.group!);
    expect(views.size).toBe(1);
    views.leave(second.group!);
    expect(views.size).toBe(0);
  });
});
