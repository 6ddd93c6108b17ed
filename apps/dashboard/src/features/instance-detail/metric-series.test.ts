import { metricsOf, type MetricsSample } from '@vigil/protocol';
import { describe, expect, it } from 'vitest';
import { chartColumns, historySpan, latestText, METRIC_CHARTS, MIN_HISTORY_SPAN_MS, sampleOf, withLiveSample } from './metric-series';

const MIN = 60_000;

function sample(t: number, cpu: number | null = 10): MetricsSample {
  return {
    t,
    cpu,
    rss: 100 * 1024 * 1024,
    heapUsed: 40 * 1024 * 1024,
    heapLimit: 2 * 1024 ** 3,
    eventLoopDelayP50: 1.2,
    eventLoopDelayP99: 8,
    eventLoopDelayMax: 12.5,
    eventLoopUtilization: 0.25,
  };
}

const chart = (id: string) => METRIC_CHARTS.find((c) => c.id === id)!;

describe('metric history for the charts', () => {
  it('turns a live update into a history point', () => {
    const live = metricsOf([55, 1, 2, 3, 4, 5, 6, 0.5, 7, 8, 9], 1_000);
    expect(sampleOf(live)).toEqual({
      t: 1_000,
      cpu: 55,
      rss: 1,
      heapUsed: 2,
      heapLimit: 3,
      eventLoopDelayP50: 4,
      eventLoopDelayP99: 5,
      eventLoopDelayMax: 6,
      eventLoopUtilization: 0.5,
    });
  });

  it('extends the history with newer live samples only, keeping its span', () => {
    const history = [sample(0), sample(10 * MIN), sample(40 * MIN)];
    const span = historySpan(history);
    expect(span).toBe(40 * MIN);
    const live = metricsOf([99, 1, 2, 3, 4, 5, 6, 0.5, 7, 8, 9], 45 * MIN);
    const extended = withLiveSample(history, live, span);
    expect(extended.map((s) => s.t)).toEqual([10 * MIN, 40 * MIN, 45 * MIN]);
    expect(extended.at(-1)?.cpu).toBe(99);
    // The same sample again (a snapshot after a reconnect) adds nothing.
    expect(withLiveSample(extended, live, span)).toBe(extended);
    expect(historySpan([])).toBe(MIN_HISTORY_SPAN_MS);
    expect(withLiveSample([], live, span).map((s) => s.t)).toEqual([45 * MIN]);
  });

  it('lays the figures out as chart columns, scaled, with gaps where none was sampled', () => {
    const samples = [sample(1_000, 20), sample(2_000, null)];
    expect(chartColumns(samples, chart('cpu'))).toEqual([
      [1_000, 2_000],
      [20, null],
    ]);
    expect(chartColumns(samples, chart('loop-utilization'))[1]).toEqual([25, 25]);
    expect(chartColumns(samples, chart('loop-delay')).slice(1)).toEqual([
      [1.2, 1.2],
      [8, 8],
      [12.5, 12.5],
    ]);
  });

  it('says the latest value of each line in words', () => {
    const samples = [sample(1_000, 20), sample(2_000, 87.4)];
    expect(latestText(samples, chart('cpu'))).toBe('CPU 87 %');
    expect(latestText(samples, chart('memory'))).toBe('RSS 100 MiB, heap used 40.0 MiB, heap limit 2.00 GiB');
    expect(latestText(samples, chart('loop-delay'))).toBe('p50 1.2 ms, p99 8.0 ms, max 12.5 ms');
    expect(latestText(samples, chart('loop-utilization'))).toBe('utilization 25 %');
    expect(latestText([], chart('cpu'))).toBe('no samples yet');
  });
});
