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
});
