import { describe, expect, it } from 'vitest';
import { BUCKET_MS, BucketedHistory, decodeFigure, encodeFigure } from './bucketed-history.js';

const MINUTE = 60_000;
/** A time well past the epoch, at the start of a bucket. */
const T0 = 1_000 * BUCKET_MS;

const metrics = (cpu: number | null, p99: number, rss = 200e6) => [cpu, rss, 50e6, 2e9, 1, p99, p99 * 2, 0.25, 3, 60, 12];

describe('BucketedHistory', () => {
  it('keeps any figure in two bytes within 0.04 % of 1 + its value, from ratios to terabytes', () => {
    for (const value of [0, 0.001, 0.25, 1, 37.5, 512, 123_456_789, 2 ** 40, 8e15]) {
      const back = decodeFigure(encodeFigure(value));
      expect(Math.abs(back - value)).toBeLessThanOrEqual((1 + value) * 0.0004);
    }
    expect(encodeFigure(2 ** 70)).toBe(0xfffe);
  });

  it('averages the figures of a bucket, but keeps the worst event-loop delay', () => {
    const history = new BucketedHistory();
    history.record(3, metrics(10, 5), T0);
    history.record(3, metrics(30, 900), T0 + 5_000);
    history.record(3, metrics(20, 40), T0 + 10_000);
    const [bucket] = history.read(3, T0 + 10_000);
    expect(bucket?.t).toBe(T0);
    expect(bucket?.cpu).toBeCloseTo(20, 1);
    expect(bucket?.eventLoopDelayP99).toBeCloseTo(900, 0);
    expect(bucket?.eventLoopDelayMax).toBeCloseTo(1_800, 0);
    expect(bucket?.rss).toBeCloseTo(200e6, -5);
    expect(bucket?.eventLoopUtilization).toBeCloseTo(0.25, 3);
  });

  it('answers at least the last 30 minutes, oldest first, and nothing older than the ring', () => {
    const history = new BucketedHistory();
    for (let t = T0; t <= T0 + 60 * MINUTE; t += 5_000) history.record(0, metrics(t / MINUTE, 1), t);
    const now = T0 + 60 * MINUTE;
    const samples = history.read(0, now);
    expect(samples.map((s) => s.t)).toEqual([...samples.map((s) => s.t)].sort((a, b) => a - b));
    expect(samples[0]!.t).toBeLessThanOrEqual(now - 30 * MINUTE);
    expect(samples[0]!.t).toBeGreaterThan(now - 34 * MINUTE);
    expect(samples.at(-1)!.t).toBe(Math.floor(now / BUCKET_MS) * BUCKET_MS);
  });

  it('leaves out the buckets an instance was silent in, and everything once it has been silent longer than the ring', () => {
    const history = new BucketedHistory();
    history.record(0, metrics(1, 1), T0);
    history.record(0, metrics(2, 1), T0 + 10 * MINUTE);
    expect(history.read(0, T0 + 10 * MINUTE).map((s) => [s.t, Math.round(s.cpu!)])).toEqual([
      [T0, 1],
      [T0 + 10 * MINUTE, 2],
    ]);
    expect(history.read(0, T0 + 50 * MINUTE)).toEqual([]);
  });

  it('keeps a figure the agent could not sample as null, and a released slot starts empty for its next instance', () => {
    const history = new BucketedHistory();
    history.record(9_000, metrics(null, 1), T0);
    expect(history.read(9_000, T0)[0]?.cpu).toBeNull();
    history.release(9_000);
    expect(history.read(9_000, T0)).toEqual([]);
    history.record(9_000, metrics(7, 1), T0 + 1_000);
    expect(history.read(9_000, T0 + 1_000).map((s) => Math.round(s.cpu!))).toEqual([7]);
  });
});
