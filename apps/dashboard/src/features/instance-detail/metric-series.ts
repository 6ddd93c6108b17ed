import type { InstanceMetrics, MetricsSample } from '@vigil/protocol';
import { formatBytes, formatMs, formatPercent } from '../../utils/format-metrics';

/** A figure of a history point (`GET /api/v1/instances/:id/metrics`; `t` is backend epoch ms). */
type Figure = Exclude<keyof MetricsSample, 't'>;

/** The history covers at least this much; live samples extend it and push out the oldest beyond it. */
export const MIN_HISTORY_SPAN_MS = 30 * 60_000;

/** A live update of the watched instance as a history point. */
export function sampleOf(metrics: InstanceMetrics): MetricsSample {
  const { sampledAt, cpu, rss, heapUsed, heapLimit, eventLoopDelayP50, eventLoopDelayP99, eventLoopDelayMax, eventLoopUtilization } =
    metrics;
  return { t: sampledAt, cpu, rss, heapUsed, heapLimit, eventLoopDelayP50, eventLoopDelayP99, eventLoopDelayMax, eventLoopUtilization };
}

/** How far back the loaded history goes (at least the minimum), so live samples keep the chart as wide as it started. */
export function historySpan(samples: readonly MetricsSample[]): number {
  const first = samples[0];
  const last = samples.at(-1);
  return Math.max(MIN_HISTORY_SPAN_MS, first && last ? last.t - first.t : 0);
}

/**
 * The history with a live sample appended, when it is newer than the newest point (a snapshot
 * after a reconnect may repeat one), and the points older than `spanMs` before it dropped.
 */
export function withLiveSample(samples: readonly MetricsSample[], metrics: InstanceMetrics, spanMs: number): readonly MetricsSample[] {
  const last = samples.at(-1);
  if (last !== undefined && metrics.sampledAt <= last.t) return samples;
  const from = metrics.sampledAt - spanMs;
  const kept = samples.findIndex((s) => s.t >= from);
  return [...(kept === -1 ? [] : samples.slice(kept)), sampleOf(metrics)];
}

export interface ChartLine {
  figure: Figure;
  label: string;
  /** A canvas colour that reads on the light and the dark theme alike. */
  stroke: string;
  /** Dashed: a limit rather than a measurement. */
  dash?: number[];
}

export interface MetricChart {
  id: 'cpu' | 'memory' | 'loop-delay' | 'loop-utilization';
  title: string;
  lines: readonly ChartLine[];
  /** A figure as the axis and the latest-value text show it. */
  format: (value: number | null) => string;
  /** Applied to each figure before it is drawn (event-loop utilization 0..1 is drawn as %). */
  scale?: number;
}

const BLUE = '#3d7be0';
const AMBER = '#d98e04';
const RED = '#d9453b';

export const METRIC_CHARTS: readonly MetricChart[] = [
  { id: 'cpu', title: 'CPU (% of one core)', lines: [{ figure: 'cpu', label: 'CPU', stroke: BLUE }], format: formatPercent },
  {
    id: 'memory',
    title: 'Memory',
    lines: [
      { figure: 'rss', label: 'RSS', stroke: BLUE },
      { figure: 'heapUsed', label: 'heap used', stroke: AMBER },
      { figure: 'heapLimit', label: 'heap limit', stroke: RED, dash: [6, 4] },
    ],
    format: formatBytes,
  },
  {
    id: 'loop-delay',
    title: 'Event-loop delay',
    lines: [
      { figure: 'eventLoopDelayP50', label: 'p50', stroke: BLUE },
      { figure: 'eventLoopDelayP99', label: 'p99', stroke: AMBER },
      { figure: 'eventLoopDelayMax', label: 'max', stroke: RED },
    ],
    format: formatMs,
  },
  {
    id: 'loop-utilization',
    title: 'Event-loop utilization',
    lines: [{ figure: 'eventLoopUtilization', label: 'utilization', stroke: BLUE }],
    format: formatPercent,
    scale: 100,
  },
];

/** uPlot's columns for a chart: times in ms, then one column of (scaled) figures per line, null where none was sampled. */
export function chartColumns(samples: readonly MetricsSample[], chart: MetricChart): [number[], ...(number | null)[][]] {
  const scale = chart.scale ?? 1;
  return [
    samples.map((s) => s.t),
    ...chart.lines.map(({ figure }) =>
      samples.map((s) => {
        const value = s[figure];
        return value === null ? null : value * scale;
      }),
    ),
  ];
}

/** The latest value of each line as text, for readers who cannot see the chart: `p50 1.2 ms, p99 8.0 ms, max 12.5 ms`. */
export function latestText(samples: readonly MetricsSample[], chart: MetricChart): string {
  const last = samples.at(-1);
  if (last === undefined) return 'no samples yet';
  const scale = chart.scale ?? 1;
  return chart.lines
    .map(({ figure, label }) => {
      const value = last[figure];
      return `${label} ${chart.format(value === null ? null : value * scale)}`;
    })
    .join(', ');
}
