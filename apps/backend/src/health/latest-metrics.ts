import { METRIC_FIELDS, metricsOf, type BeatMetrics, type InstanceMetrics } from '@vigil/protocol';

/**
 * An instance's latest metrics from a beat's figures (METRIC_FIELDS order), at `sampledAt`
 * (backend clock). The first beat that brings metrics makes the instance's one metrics object
 * (`metricsOf`); every later one writes its figures into that object: a beat allocates nothing,
 * and no old-generation object is left for the garbage collector per beat (300,000 instances
 * beating every 5 s replaced 60,000 objects a second, each promoted before it died).
 */
export function takeMetrics(into: InstanceMetrics | null, figures: BeatMetrics, sampledAt: number): InstanceMetrics {
  if (into === null) return metricsOf(figures, sampledAt);
  into.cpu = figures[0] ?? null;
  into.rss = figures[1] ?? null;
  into.heapUsed = figures[2] ?? null;
  into.heapLimit = figures[3] ?? null;
  into.eventLoopDelayP50 = figures[4] ?? null;
  into.eventLoopDelayP99 = figures[5] ?? null;
  into.eventLoopDelayMax = figures[6] ?? null;
  into.eventLoopUtilization = figures[7] ?? null;
  into.gcPauseMs = figures[8] ?? null;
  into.uptime = figures[9] ?? null;
  into.activeHandles = figures[10] ?? null;
  into.sampledAt = sampledAt;
  return into;
}

/** The figures of metrics, in METRIC_FIELDS order (the wire form: what the redis feed carries for a beat). */
export function figuresOf(metrics: InstanceMetrics): BeatMetrics {
  return METRIC_FIELDS.map((field) => metrics[field]);
}
