import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/vigil-config.js';
import { InstanceAdmission, healthBytes, instanceBytes } from './instance-admission.js';
import { InstanceRegistry, type InstanceInput, type RegistryEvent } from './instance-registry.js';
import { registryOptions } from './registry.module.js';

const input = (instanceId: string): InstanceInput => ({
  instanceId,
  source: 'agent',
  service: 'orders',
  appName: 'orders',
  artifact: 'orders',
  appType: 'default',
  hostName: 'h',
  ip: ['10.0.0.1'],
  processId: 1,
  dynamicInstall: false,
  version: '1',
  plugins: [],
  metadata: {},
  ephemeral: true,
});

function setup(limits: { maxInstances: number; maxInstancesPerClient?: number; instanceMaxBytes?: number }) {
  const registry = new InstanceRegistry(registryOptions(loadConfig({})), 0);
  const admission = new InstanceAdmission(
    registry,
    { maxInstancesPerClient: limits.maxInstances, instanceMaxBytes: 64 * 1024, ...limits },
    () => 0,
  );
  const events: RegistryEvent[] = [];
  admission.onEvent((e) => events.push(e));
  /** Registers like the beat handler does: the check, then the registry. */
  const register = (id: string, client: object | string = '127.0.0.1') => {
    const refusal = admission.admit(id, registry.get(id) !== undefined, 0, client, 0);
    if (refusal === null) registry.upsert(input(id), 0);
    return refusal;
  };
  return { registry, admission, events, register };
}

describe('InstanceAdmission', () => {
  it('refuses new instances past maxInstances (200) with 503 naming VIGIL_MAX_INSTANCES, never known ones; one event each way', () => {
    const { registry, admission, events, register } = setup({ maxInstances: 200 });
    for (let i = 0; i < 200; i++) expect(register(`i-${i}`)).toBeNull();
    expect(register('new-1')).toMatchObject({ status: 503, body: { message: expect.stringContaining('VIGIL_MAX_INSTANCES=200') } });
    expect(register('new-2')?.status).toBe(503);
    expect(register('i-0')).toBeNull();
    expect(admission.isFull).toBe(true);
    expect(events.map((e) => e.type)).toEqual(['registry.full']);
    // Back under only below 99 %: one removal at the edge does not flap.
    registry.remove('i-0', 1);
    expect(admission.isFull).toBe(true);
    registry.remove('i-1', 1);
    expect(admission.isFull).toBe(false);
    expect(events.map((e) => e.type)).toEqual(['registry.full', 'registry.below-limit']);
    expect(register('new-1')).toBeNull();
  });

  it('caps the instances one client has registered at once (429 naming VIGIL_MAX_INSTANCES_PER_CLIENT); others are unaffected; a removal frees a place', () => {
    const { registry, register } = setup({ maxInstances: 100, maxInstancesPerClient: 3 });
    const tokenA = { servicePrefix: '' };
    const tokenB = { servicePrefix: '' };
    for (let i = 0; i < 3; i++) expect(register(`a-${i}`, tokenA)).toBeNull();
    expect(register('a-3', tokenA)).toMatchObject({
      status: 429,
      body: { message: expect.stringContaining('VIGIL_MAX_INSTANCES_PER_CLIENT') },
    });
    expect(register('b-0', tokenB)).toBeNull();
    expect(register('l-0', '::1')).toBeNull();
    expect(register('a-0', tokenA)).toBeNull();
    registry.remove('a-0', 1);
    expect(register('a-3', tokenA)).toBeNull();
  });

  it("counts a full beat's health report in its width, as its indicators and details take memory", () => {
    const db = { status: 'down', details: { error: 'x'.repeat(500) } } as const;
    expect(healthBytes(undefined)).toBe(0);
    expect(healthBytes({ status: 'down', indicators: { db } })).toBeGreaterThan(1_000);
    expect(healthBytes({ status: 'down', indicators: { db, db2: db } })).toBeGreaterThan(2_000);
  });

  it('refuses an instance wider than instanceMaxBytes with 413 naming VIGIL_INSTANCE_MAX_BYTES, known or new', () => {
    const { admission, register } = setup({ maxInstances: 10, instanceMaxBytes: 8 * 1024 });
    register('known');
    const extInfo = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`k${i}`, 'v'.repeat(1_000)]));
    const bytes = instanceBytes([{ name: 'p', version: '1', extInfo }], { a: 'b' });
    expect(bytes).toBeGreaterThan(2 * 8 * 1_000);
    for (const known of [true, false]) {
      expect(admission.admit('known', known, bytes, 'x', 0)).toMatchObject({
        status: 413,
        body: { message: expect.stringContaining('VIGIL_INSTANCE_MAX_BYTES') },
      });
    }
    expect(
      admission.admit('known', true, instanceBytes([{ name: 'p', version: '1', extInfo: { status: 'started' } }], {}), 'x', 0),
    ).toBeNull();
  });
});
