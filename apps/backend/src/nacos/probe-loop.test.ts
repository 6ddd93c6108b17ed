import { beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/vigil-config.js';
import { InstanceRegistry } from '../instances/instance-registry.js';
import { LEASE_TICK_MS, registryOptions } from '../instances/registry.module.js';
import type { ProbeTarget } from './health-probes.js';
import { toInstanceInput, type InstanceSpec } from './nacos-instance.js';
import { ProbeLoop } from './probe-loop.js';

const config = loadConfig({ VIGIL_PROBE_INTERVAL_MS: '500', VIGIL_LOST_AFTER_MS: '1000' });

function spec(overrides: Partial<InstanceSpec>): InstanceSpec {
  return {
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
    ...overrides,
  };
}

describe('ProbeLoop', () => {
  let now: number;
  let registry: InstanceRegistry;
  let loop: ProbeLoop;
  /** What the fake prober answers, by host; and every target it was asked about. */
  let up: Map<string, boolean>;
  let probed: Array<{ target: ProbeTarget; timeoutMs: number }>;

  beforeEach(() => {
    now = 1_000_000;
    registry = new InstanceRegistry(registryOptions(config), now);
    up = new Map();
    probed = [];
    const prober = async (target: ProbeTarget, timeoutMs: number) => {
      probed.push({ target, timeoutMs });
      return up.get(target.host) ?? true;
    };
    loop = new ProbeLoop(registry, prober, config, { now: () => now });
  });

  const status = (ip: string) => registry.get(`${ip}#5432#DEFAULT#DEFAULT_GROUP@@db`)?.status;

  it('marks a persistent instance unhealthy after 3 failed probes and healthy after 3 passes', async () => {
    registry.upsert(toInstanceInput(spec({})), now);
    up.set('10.0.0.1', false);
    await loop.probeAll();
    await loop.probeAll();
    expect(status('10.0.0.1')).toBe('healthy');
    await loop.probeAll();
    expect(status('10.0.0.1')).toBe('unhealthy');

    up.set('10.0.0.1', true);
    await loop.probeAll();
    await loop.probeAll();
    expect(status('10.0.0.1')).toBe('unhealthy');
    await loop.probeAll();
    expect(status('10.0.0.1')).toBe('healthy');
  });

  it('probes only persistent Nacos instances, over TCP by default or HTTP when metadata says so', async () => {
    registry.upsert(toInstanceInput(spec({})), now);
    registry.upsert(
      toInstanceInput(spec({ ip: '10.0.0.2', metadata: { 'preserved.health.checker': 'HTTP', 'preserved.health.path': 'healthz' } })),
      now,
    );
    registry.upsert(toInstanceInput(spec({ ip: '10.0.0.3', ephemeral: true })), now);
    await loop.probeAll();
    expect(probed).toEqual([
      { target: { kind: 'tcp', host: '10.0.0.1', port: 5432 }, timeoutMs: 500 },
      { target: { kind: 'http', host: '10.0.0.2', port: 5432, path: '/healthz' }, timeoutMs: 500 },
    ]);
  });

  it('never removes a persistent instance for silence; a deregister does', async () => {
    registry.upsert(toInstanceInput(spec({})), now);
    up.set('10.0.0.1', false);
    for (let i = 0; i < 3; i++) await loop.probeAll();
    for (const end = now + config.removeAfterMs * 2; now < end;) registry.tick((now += LEASE_TICK_MS * 50));
    expect(status('10.0.0.1')).toBe('unhealthy');
    registry.remove('10.0.0.1#5432#DEFAULT#DEFAULT_GROUP@@db', now);
    await loop.probeAll();
    expect(probed).toHaveLength(3);
  });

  it('does not start a second probe of an instance whose previous one is still running', async () => {
    let release: (passed: boolean) => void = () => {};
    let calls = 0;
    const slow = () => {
      calls++;
      return new Promise<boolean>((resolve) => (release = resolve));
    };
    loop = new ProbeLoop(registry, slow, config, { now: () => now });
    registry.upsert(toInstanceInput(spec({})), now);
    const first = loop.probeAll();
    await loop.probeAll();
    expect(calls).toBe(1);
    release(true);
    await first;
    const second = loop.probeAll();
    expect(calls).toBe(2);
    release(true);
    await second;
  });

  it('probes a target shared by many instances once per round and judges each of them by it', async () => {
    for (let i = 0; i < 50; i++) registry.upsert(toInstanceInput(spec({ serviceName: `db-${i}` })), now);
    registry.upsert(toInstanceInput(spec({ serviceName: 'db-http', metadata: { 'preserved.health.checker': 'http' } })), now);
    up.set('10.0.0.1', false);
    for (let round = 1; round <= 3; round++) {
      await loop.probeAll();
      expect(probed).toHaveLength(round * 2); // the TCP target and the HTTP one on the same port
    }
    expect(registry.list().every((i) => i.status === 'unhealthy')).toBe(true);
  });

  it('runs at most VIGIL_PROBE_CONCURRENCY probes at once, and probes every target of the round', async () => {
    const bounded = loadConfig({ VIGIL_PROBE_INTERVAL_MS: '500', VIGIL_LOST_AFTER_MS: '1000', VIGIL_PROBE_CONCURRENCY: '3' });
    let running = 0;
    let most = 0;
    const hosts: string[] = [];
    const slow = async (target: ProbeTarget) => {
      hosts.push(target.host);
      most = Math.max(most, ++running);
      await new Promise((resolve) => setImmediate(resolve));
      running--;
      return true;
    };
    loop = new ProbeLoop(registry, slow, bounded, { now: () => now });
    for (let i = 1; i <= 10; i++) registry.upsert(toInstanceInput(spec({ ip: `10.0.0.${i}` })), now);
    await loop.probeAll();
    expect(most).toBe(3);
    expect(hosts.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `10.0.0.${i + 1}`).sort());
  });
});
