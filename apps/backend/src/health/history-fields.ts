import type { InstanceMetrics, MetricsSample } from '@vigil/protocol';

/** The figures a metrics history keeps, in this order (the fields of a `MetricsSample` besides `t`): the first of METRIC_FIELDS, in the same order, so a beat's figures are read by index. */
export const HISTORY_FIELDS = [
  'cpu',
  'rss',
  'heapUsed',
  'heapLimit',
  'eventLoopDelayP50',
  'eventLoopDelayP99',
  'eventLoopDelayMax',
  'eventLoopUtilization',
] as const satisfies ReadonlyArray<keyof InstanceMetrics & keyof MetricsSample>;

export const HISTORY_FIELD_COUNT = HISTORY_FIELDS.length;

/** A sample from figures read in HISTORY_FIELDS order (`at(i)`: the i-th figure, null when not sampled). */
export function sampleOf(t: number, at: (i: number) => number | null): MetricsSample {
  return {
    t,
    cpu: at(0),
    rss: at(1),
    heapUsed: at(2),
    heapLimit: at(3),
    eventLoopDelayP50: at(4),
    eventLoopDelayP99: at(5),
    eventLoopDelayMax: at(6),
    eventLoopUtilization: at(7),
  };
}
