import type { HealthReport, Instance } from '@vigil/protocol';
import { beforeEach, describe, expect, it } from 'vitest';
import type { InstanceRegistry, RegistryEvent } from './instance-registry.js';
import { fullBeat, LOST_AFTER, RegistryDriver } from './registry-fixtures.js';

describe('ReplicaMirror (through the registry): what other replicas and the redis store decided', () => {
  let d: RegistryDriver;
  let registry: InstanceRegistry;
  let events: RegistryEvent[];

  beforeEach(() => {
    d = new RegistryDriver();
    ({ registry, events } = d);
  });

  it('judges mirrored instances (redis mode: the claim holds on this verdict) by the same rule', () => {
    const mirrored = (id: string, metadata: Record<string, string>) => {
      const beat = fullBeat({ instanceId: id, metadata });
      const { v: _v, kind: _kind, heartbeatTime: _h, lastHeartbeatTime: _l, ...identity } = beat;
      registry.applyRemoteUpsert({
        ...identity,
        source: 'agent',
        ephemeral: true,
        metadata,
        status: 'healthy',
        registeredAt: 0,
        lastHeartbeatTime: 0,
        statusSince: 0,
        metrics: null,
        health: null,
      });
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

  it("shows self-preservation on a mirror (redis mode) from the store's hold until the overdue share drops, without events", () => {
    const fleet = Array.from({ length: 20 }, (_, i) => `i-${i}`);
    for (const id of fleet) {
      const { v: _v, kind: _kind, heartbeatTime: _h, lastHeartbeatTime: _l, ...identity } = fullBeat({ instanceId: id });
      registry.applyRemoteUpsert({
        ...identity,
        source: 'agent',
        ephemeral: true,
        metadata: {},
        status: 'healthy',
        registeredAt: 0,
        lastHeartbeatTime: 0,
        statusSince: 0,
        metrics: null,
        health: null,
      });
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

  it("takes another replica's health with the instance and its metrics with each beat: unhealthy stays unhealthy on a beat", () => {
    const down: HealthReport = { status: 'down', indicators: { db: { status: 'down' } } };
    const { v: _v, kind: _kind, heartbeatTime: _h, lastHeartbeatTime: _l, ...identity } = fullBeat({ instanceId: 'i-1' });
    const remote: Instance = {
      ...identity,
      source: 'agent',
      ephemeral: true,
      metadata: {},
      status: 'unhealthy',
      registeredAt: 0,
      lastHeartbeatTime: 0,
      statusSince: 0,
      metrics: null,
      health: down,
    };
    registry.applyRemoteUpsert(remote);
    registry.applyRemoteBeat('i-1', 5_000, [40, 1e8, 2e7, 4e9, 1, 2, 3, 0.5, 0, 10, 4]);
    expect(registry.get('i-1')).toMatchObject({ status: 'unhealthy', health: down, metrics: { cpu: 40, sampledAt: 5_000 } });
    expect(registry.metricsHistory('i-1', 5_000)?.map((s) => Math.round(s.cpu!))).toEqual([40]);
    // Lost, then a beat through another replica: back to unhealthy (its report is still down), not healthy.
    registry.applyRemoteTransition('i-1', 'lost', 20_000, 20_000, false);
    registry.applyRemoteBeat('i-1', 21_000);
    expect(registry.get('i-1')?.status).toBe('unhealthy');
    // An older copy of the instance does not take back newer metrics.
    registry.applyRemoteUpsert({ ...remote, metrics: { ...registry.get('i-1')!.metrics!, cpu: 1, sampledAt: 1_000 } });
    expect(registry.get('i-1')?.metrics?.cpu).toBe(40);
    expect(events).toEqual([]);
  });
});
