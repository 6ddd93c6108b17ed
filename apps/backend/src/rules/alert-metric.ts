import type { InstanceMetrics } from '@vigil/protocol';
import type { AlertComparison, AlertMetric } from './alert-rule-schema.js';

/** How a rule reads its metric from a sample: null when the agent did not sample it (the rule then judges nothing). */
export type MetricReader = (metrics: InstanceMetrics) => number | null;

const READERS: Record<AlertMetric, MetricReader> = {
  cpu: (m) => m.cpu,
  rss: (m) => m.rss,
  heapUsed: (m) => m.heapUsed,
  heapUsedPercent: (m) => (m.heapUsed === null || !m.heapLimit ? null : (m.heapUsed / m.heapLimit) * 100),
  eventLoopDelayP99: (m) => m.eventLoopDelayP99,
  eventLoopDelayMax: (m) => m.eventLoopDelayMax,
  eventLoopUtilization: (m) => m.eventLoopUtilization,
  gcPauseMs: (m) => m.gcPauseMs,
};

export function metricReader(metric: AlertMetric): MetricReader {
  return READERS[metric];
}

/** Whether `value` breaches `threshold`: one closure per rule, chosen once, so judging a sample does no string compare. */
export function breachTest(comparison: AlertComparison, threshold: number): (value: number) => boolean {
  switch (comparison) {
    case '>':
      return (value) => value > threshold;
    case '>=':
      return (value) => value >= threshold;
    case '<':
      return (value) => value < threshold;
    case '<=':
      return (value) => value <= threshold;
  }
}

/** A figure for messages and event attributes: at most three decimals, no exponent for byte counts. */
export function formatFigure(value: number): string {
  return String(Math.round(value * 1000) / 1000);
}
