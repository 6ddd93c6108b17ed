import { describe, expect, it } from 'vitest';
import { BUCKET_MS } from './bucketed-history.js';
import { MetricsHistory } from './metrics-history.js';
import { MAX_WATCHED, WATCHED_SAMPLES } from './watched-history.js';

const T0 = 1_000 * BUCKET_MS;
const at = (cpu: number) => [cpu, 1, 1, 1, 1, 1, 1, 0.5, 0, 1, 1];

describe('MetricsHistory', () => {
  it('answers aggregates only for an instance nobody watches', () => {
    const history = new MetricsHistory();
    for (let t = T0; t < T0 + 3 * BUCKET_MS; t += 5_000) history.record(0, 'i-1', at(10), t);
    const samples = history.samples(0, 'i-1', T0 + 3 * BUCKET_MS);
    expect(samples.map((s) => s.t)).toEqual([T0, T0 + BUCKET_MS, T0 + 2 * BUCKET_MS]);
  });

  it('answers a sample per beat from when the watching began, after the aggregates of the buckets begun before it', () => {
    const history = new MetricsHistory();
    for (let t = T0; t < T0 + 2 * BUCKET_MS; t += 5_000) history.record(0, 'i-1', at(10), t);
    history.follow('i-1');
    const start = T0 + 2 * BUCKET_MS + 1_000;
    for (const [i, cpu] of [5, 50, 95].entries()) history.record(0, 'i-1', at(cpu), start + i * 5_000);
    const samples = history.samples(0, 'i-1', start + 10_000);
    expect(samples.map((s) => [s.t, Math.round(s.cpu!)])).toEqual([
      [T0, 10],
      [T0 + BUCKET_MS, 10],
      [T0 + 2 * BUCKET_MS, 50],
      [start, 5],
      [start + 5_000, 50],
      [start + 10_000, 95],
    ]);
  });

  it('keeps per-beat rings for the most recently watched instances only, each bounded', () => {
    const history = new MetricsHistory();
    for (let i = 0; i <= MAX_WATCHED; i++) history.follow(`i-${i}`);
    expect(history.followed).toBe(MAX_WATCHED);
    // The first one gave its ring up; the last one keeps its newest WATCHED_SAMPLES beats.
    history.record(0, 'i-0', at(1), T0);
    expect(history.samples(0, 'i-0', T0).map((s) => s.t)).toEqual([T0]);
    for (let n = 0; n < WATCHED_SAMPLES + 10; n++) history.record(1, `i-${MAX_WATCHED}`, at(n), T0 + n * 1_000);
    const fine = history.samples(1, `i-${MAX_WATCHED}`, T0 + (WATCHED_SAMPLES + 10) * 1_000);
    expect(fine.filter((s) => s.t >= T0 + 10_000)).toHaveLength(WATCHED_SAMPLES);
  });

  it('forgets an instance that left: its slot and its ring', () => {
    const history = new MetricsHistory();
    history.follow('i-1');
    history.record(4, 'i-1', at(10), T0);
    history.release(4, 'i-1');
    expect(history.samples(4, 'i-1', T0)).toEqual([]);
    expect(history.followed).toBe(0);
  });
});
