import type { HealthReport, Instance, LightBeat } from '@vigil/protocol';
import { describe, expect, it } from 'vitest';
import { BUCKET_MS } from '../health/metrics-history.js';
import { fullBeat, lightBeat, RegistryDriver } from './registry-fixtures.js';

/** What beats say of an instance besides that it lives (issue 21): its metrics and its health. */

const figures = (cpu: number, p99 = 2) => [cpu, 150e6, 40e6, 2e9, 1, p99, p99 * 3, 0.3, 4, 120, 9];
const withMetrics = (cpu: number, p99?: number): LightBeat => ({ ...lightBeat(), metrics: figures(cpu, p99) });
const DOWN: HealthReport = { status: 'down', indicators: { db: { status: 'down', details: { error: 'ECONNREFUSED', host: 'db-1' } } } };

describe('metrics in beats', () => {
  it("make a light beat's figures the instance's metrics at the backend's time, in the one object the instance keeps", () => {
    const { registry } = new RegistryDriver();
    registry.applyBeat(fullBeat({ metrics: figures(5) }), 1_000);
    const first = registry.get('i-1')!.metrics;
    expect(first).toMatchObject({ cpu: 5, rss: 150e6, heapLimit: 2e9, eventLoopDelayP99: 2, uptime: 120, sampledAt: 1_000 });
    registry.applyBeat(withMetrics(80), 6_000);
    expect(registry.get('i-1')!.metrics).toBe(first);
    expect(first).toMatchObject({ cpu: 80, sampledAt: 6_000 });
  });

  it('report a beat that brought metrics as a beat with them, and one without as a plain beat', () => {
    const driver = new RegistryDriver();
    driver.registry.applyBeat(fullBeat(), 0);
    driver.changes.length = 0;
    driver.registry.applyBeat(withMetrics(12), 5_000);
    driver.registry.applyBeat(lightBeat(), 10_000);
    expect(driver.changes).toEqual([
      { type: 'beat', instanceId: 'i-1', time: 5_000, metrics: expect.objectContaining({ cpu: 12, sampledAt: 5_000 }) },
      { type: 'beat', instanceId: 'i-1', time: 10_000, metrics: null },
    ]);
  });

  it('go to onMetrics listeners once the beat is applied, for full and light beats; beats without metrics do not', () => {
    const { registry } = new RegistryDriver();
    const heard: Array<[string, number | null, string]> = [];
    registry.onMetrics((instance: Instance) => heard.push([instance.instanceId, instance.metrics!.cpu, instance.status]));
    registry.applyBeat(fullBeat({ metrics: figures(1), health: DOWN }), 0);
    registry.applyBeat(lightBeat(), 5_000);
    registry.applyBeat(withMetrics(2), 10_000);
    expect(heard).toEqual([
      ['i-1', 1, 'unhealthy'],
      ['i-1', 2, 'unhealthy'],
    ]);
  });

  it('build a history: aggregates for every instance, beat by beat once followed, gone with the instance', () => {
    const { registry } = new RegistryDriver();
    const t0 = 100 * BUCKET_MS;
    registry.applyBeat(fullBeat({ metrics: figures(10) }), t0);
    registry.applyBeat(withMetrics(30), t0 + 5_000);
    registry.followMetrics(['i-1', 'unknown']);
    registry.applyBeat(withMetrics(70, 600), t0 + 10_000);
    const samples = registry.metricsHistory('i-1', t0 + 10_000)!;
    expect(samples.map((s) => [s.t, Math.round(s.cpu!), Math.round(s.eventLoopDelayP99!)])).toEqual([
      [t0, 37, 600],
      [t0 + 10_000, 70, 600],
    ]);
    expect(registry.metricsHistory('unknown', t0)).toBeUndefined();
    registry.remove('i-1', t0 + 11_000);
    registry.applyBeat(fullBeat(), t0 + 12_000);
    expect(registry.metricsHistory('i-1', t0 + 12_000)).toEqual([]);
  });
});

describe('health in beats', () => {
  it("make a full beat's report the instance's health; a light beat keeps it; a full beat without one clears it", () => {
    const { registry } = new RegistryDriver();
    registry.applyBeat(fullBeat({ health: DOWN }), 0);
    expect(registry.get('i-1')).toMatchObject({ status: 'unhealthy', health: DOWN });
    registry.applyBeat(lightBeat(), 5_000);
    expect(registry.get('i-1')).toMatchObject({ status: 'unhealthy', health: DOWN });
    registry.applyBeat(fullBeat(), 10_000);
    expect(registry.get('i-1')).toMatchObject({ status: 'healthy', health: null });
    expect(registry.countByHealth()).toEqual({ up: 0, degraded: 0, down: 0, unknown: 1 });
  });

  it('log the down indicators and their details with instance.unhealthy, and nothing for an unchanged report', () => {
    const driver = new RegistryDriver();
    driver.registry.applyBeat(fullBeat(), 0);
    driver.registry.applyBeat(fullBeat({ health: DOWN }), 5_000);
    driver.registry.applyBeat(fullBeat({ health: DOWN }), 10_000);
    const reported = driver.events.filter((e) => e.type !== 'instance.registered');
    expect(reported).toEqual([
      {
        time: 5_000,
        level: 'important',
        type: 'instance.unhealthy',
        message: 'reports its health down (db)',
        instance: expect.objectContaining({ instanceId: 'i-1', status: 'unhealthy' }),
        attributes: { indicators: 'db', 'db.error': 'ECONNREFUSED', 'db.host': 'db-1' },
      },
    ]);
    expect(driver.registry.countByHealth()).toEqual({ up: 0, degraded: 0, down: 1, unknown: 0 });
  });

  it('leave a full beat with the same identity and the same report a renewal, whatever its metrics', () => {
    const driver = new RegistryDriver();
    driver.registry.applyBeat(fullBeat({ health: DOWN, metrics: figures(1) }), 0);
    driver.changes.length = 0;
    driver.registry.applyBeat(fullBeat({ health: DOWN, metrics: figures(2) }), 5_000);
    expect(driver.changes.map((c) => c.type)).toEqual(['beat']);
  });
});
