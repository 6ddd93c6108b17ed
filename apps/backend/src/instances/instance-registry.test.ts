import type { FullBeat, LightBeat } from '@vigil/protocol';
import { beforeEach, describe, expect, it } from 'vitest';
import { InstanceRegistry, type RegistryChange } from './instance-registry.js';

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

describe('InstanceRegistry', () => {
  let registry: InstanceRegistry;
  let changes: RegistryChange[];

  beforeEach(() => {
    registry = new InstanceRegistry({ lostAfterMs: LOST_AFTER, removeAfterMs: REMOVE_AFTER }, 0);
    changes = [];
    registry.onChange((change) => changes.push(change));
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
  });

  it('answers unknown to a light beat for an instance it has never seen', () => {
    expect(registry.applyBeat(lightBeat('nobody'), 1_000)).toBe('unknown');
    expect(registry.size).toBe(0);
  });

  it('turns an instance lost exactly lostAfter ms after its last beat, and removes it removeAfter ms after', () => {
    registry.applyBeat(fullBeat(), 1_000);
    registry.applyBeat(lightBeat(), 6_000);
    registry.tick(6_000 + LOST_AFTER - 1);
    expect(registry.get('i-1')?.status).toBe('healthy');
    registry.tick(6_000 + LOST_AFTER);
    expect(registry.get('i-1')).toMatchObject({ status: 'lost', statusSince: 6_000 + LOST_AFTER });
    registry.tick(6_000 + REMOVE_AFTER - 1);
    expect(registry.get('i-1')).toBeDefined();
    registry.tick(6_000 + REMOVE_AFTER);
    expect(registry.get('i-1')).toBeUndefined();
    expect(changes.at(-1)).toEqual({ type: 'removed', instanceId: 'i-1' });
  });

  it('stamps the lost time at the deadline even when the tick comes late', () => {
    registry.applyBeat(fullBeat(), 1_000);
    registry.tick(1_000 + LOST_AFTER + 2_500);
    expect(registry.get('i-1')).toMatchObject({ status: 'lost', statusSince: 1_000 + LOST_AFTER });
  });

  it('revives a lost instance on its next beat', () => {
    registry.applyBeat(fullBeat(), 0);
    registry.tick(LOST_AFTER);
    expect(registry.applyBeat(lightBeat(), 20_000)).toBe('renewed');
    expect(registry.get('i-1')).toMatchObject({ status: 'healthy', statusSince: 20_000 });
    registry.tick(20_000 + LOST_AFTER - 1);
    expect(registry.get('i-1')?.status).toBe('healthy');
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

  it('shows an instance offline at once on its goodbye, never lost, and removes it on time', () => {
    registry.applyBeat(fullBeat(), 1_000);
    expect(registry.applyBeat({ ...lightBeat(), kind: 'goodbye' }, 2_000)).toBe('offline');
    expect(registry.get('i-1')).toMatchObject({ status: 'offline', statusSince: 2_000 });
    registry.tick(1_000 + LOST_AFTER + 1);
    expect(registry.get('i-1')?.status).toBe('offline');
    registry.tick(1_000 + REMOVE_AFTER);
    expect(registry.get('i-1')).toBeUndefined();
  });

  it('answers unknown to a goodbye from an instance it does not know', () => {
    expect(registry.applyBeat({ ...lightBeat('ghost'), kind: 'goodbye' }, 0)).toBe('unknown');
  });

  it('keeps beats of one instance from renewing another', () => {
    registry.applyBeat(fullBeat({ instanceId: 'a' }), 0);
    registry.applyBeat(fullBeat({ instanceId: 'b' }), 0);
    registry.applyBeat(lightBeat('a'), 10_000);
    registry.tick(LOST_AFTER);
    expect(registry.get('a')?.status).toBe('healthy');
    expect(registry.get('b')?.status).toBe('lost');
  });
});
