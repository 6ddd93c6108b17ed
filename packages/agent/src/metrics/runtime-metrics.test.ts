import { METRIC_FIELDS } from '../protocol';
import type { BeatMetrics } from '../protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { RuntimeMetrics } from './runtime-metrics';

type Field = (typeof METRIC_FIELDS)[number];
const figure = (metrics: BeatMetrics, field: Field): number => {
  const value = metrics[METRIC_FIELDS.indexOf(field)];
  if (typeof value !== 'number') throw new Error(`${field} was not sampled: ${String(value)}`);
  return value;
};

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Keeps the thread busy computing for `ms` of CPU time. */
function burn(ms: number): void {
  const start = process.cpuUsage();
  let x = 0;
  while (true) {
    for (let i = 0; i < 10_000; i += 1) x += Math.sqrt(i);
    const used = process.cpuUsage(start);
    if ((used.user + used.system) / 1000 >= ms) break;
  }
  if (x < 0) throw new Error('unreachable');
}

/** Blocks the thread for `ms` without using CPU. */
function block(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

describe('RuntimeMetrics', () => {
  const samplers: RuntimeMetrics[] = [];
  afterEach(() => {
    for (const sampler of samplers.splice(0)) sampler.stop();
  });
  function sampler(): RuntimeMetrics {
    const created = new RuntimeMetrics();
    samplers.push(created);
    return created;
  }

  it('samples every figure, in METRIC_FIELDS order, rounded for the wire', async () => {
    const metrics = sampler();
    // One handle the sample must count.
    const timer = setInterval(() => undefined, 1000);
    await pause(100);
    const sample = metrics.sample();
    clearInterval(timer);
    expect(sample).toHaveLength(METRIC_FIELDS.length);
    expect(sample.every((value) => typeof value === 'number' && Number.isFinite(value) && value >= 0)).toBe(true);
    expect(figure(sample, 'rss')).toBe(Math.round(figure(sample, 'rss')));
    expect(figure(sample, 'heapUsed')).toBeLessThan(figure(sample, 'heapLimit'));
    expect(figure(sample, 'eventLoopUtilization')).toBeLessThanOrEqual(1);
    const uptime = process.uptime();
    expect([Math.floor(uptime), Math.ceil(uptime)]).toContain(figure(sample, 'uptime'));
    expect(figure(sample, 'activeHandles')).toBeGreaterThanOrEqual(1);
    for (const field of [
      'cpu',
      'eventLoopDelayP50',
      'eventLoopDelayP99',
      'eventLoopDelayMax',
      'gcPauseMs',
      'eventLoopUtilization',
    ] as const) {
      const decimals = field === 'cpu' ? 1 : field === 'eventLoopUtilization' ? 3 : 2;
      expect(String(figure(sample, field)).split('.')[1]?.length ?? 0, field).toBeLessThanOrEqual(decimals);
    }
  });

  it('sees CPU burnt and the loop kept busy since the previous sample, and an idle stretch after', async () => {
    const metrics = sampler();
    await pause(300);
    const idle = metrics.sample();
    // The histogram's first tick after a sample only restarts its clock (see readDelay).
    await pause(50);
    burn(400);
    // A turn of the loop, for the delay histogram's timer to record how late it ran.
    await pause(30);
    const busy = metrics.sample();
    await pause(400);
    const idleAgain = metrics.sample();

    expect(figure(busy, 'cpu')).toBeGreaterThanOrEqual(25);
    expect(figure(busy, 'cpu')).toBeGreaterThan(2 * figure(idle, 'cpu'));
    expect(figure(busy, 'eventLoopUtilization')).toBeGreaterThan(0.5);
    expect(figure(idle, 'eventLoopUtilization')).toBeLessThan(figure(busy, 'eventLoopUtilization'));
    expect(figure(idleAgain, 'cpu')).toBeLessThan(figure(busy, 'cpu'));
    expect(figure(busy, 'eventLoopDelayMax')).toBeGreaterThanOrEqual(300);
  });

  it('sees the loop blocked without CPU: delay up, then back down once the loop runs freely', async () => {
    const metrics = sampler();
    await pause(300);
    const before = metrics.sample();
    await pause(50);
    block(800);
    await pause(30);
    const blocked = metrics.sample();
    await pause(400);
    const after = metrics.sample();

    expect(figure(blocked, 'eventLoopDelayMax')).toBeGreaterThanOrEqual(700);
    expect(figure(blocked, 'eventLoopDelayP99')).toBeGreaterThanOrEqual(700);
    expect(figure(before, 'eventLoopDelayMax')).toBeLessThan(figure(blocked, 'eventLoopDelayMax'));
    expect(figure(after, 'eventLoopDelayMax')).toBeLessThan(figure(blocked, 'eventLoopDelayMax'));
  });

  it('adds up the GC pauses since the previous sample', async () => {
    const metrics = sampler();
    metrics.sample();
    // Enough short-lived garbage for several scavenges.
    let kept: unknown[] = [];
    for (let i = 0; i < 2_000_000; i += 1) {
      kept.push({ i });
      if (kept.length > 10_000) kept = [];
    }
    // GC entries reach the observer asynchronously.
    await pause(50);
    expect(figure(metrics.sample(), 'gcPauseMs')).toBeGreaterThan(0);
  });
});
