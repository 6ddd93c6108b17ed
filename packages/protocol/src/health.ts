import { z } from 'zod';
import { HEALTH_STATUSES, LIMITS, METRIC_FIELDS } from './constants.js';

/**
 * Health and load in beats (issue 21). On the wire a beat carries `metrics`, an array of numbers
 * in METRIC_FIELDS order (full and light beats alike, so a light beat stays small), and a full
 * beat carries `health` (an agent beats in full when its health changes, as when its plugins do).
 * Both are optional: agents that send neither keep working, and a backend that knows neither
 * drops them (zod strips unknown keys), so the protocol version stays 1.
 */

const figure = z.number().finite().nonnegative().nullable();

/** `metrics` of a beat: at least the known fields, in METRIC_FIELDS order; more are ignored. */
export const beatMetricsSchema = z.array(figure).min(METRIC_FIELDS.length).max(LIMITS.metricsFields);

export const healthStatusSchema = z.enum(HEALTH_STATUSES);

/** Facts a health indicator gives with its status (the failing database's host, the error...). */
export const healthDetailsSchema = z
  .record(z.string().min(1).max(LIMITS.extInfoKeyLength), z.string().max(LIMITS.extInfoValueLength))
  .refine((details) => Object.keys(details).length <= LIMITS.healthDetails, {
    message: `at most ${LIMITS.healthDetails} details`,
  });

export const healthIndicatorSchema = z.object({
  status: healthStatusSchema,
  details: healthDetailsSchema.optional(),
});

/** `health` of a full beat, and of an instance in the API: the worst indicator's status, and each indicator. */
export const healthReportSchema = z.object({
  status: healthStatusSchema,
  indicators: z
    .record(z.string().min(1).max(LIMITS.nameLength), healthIndicatorSchema)
    .refine((indicators) => Object.keys(indicators).length <= LIMITS.healthIndicators, {
      message: `at most ${LIMITS.healthIndicators} indicators`,
    }),
});

/** The latest metrics of an instance as the API and the dashboard show them (null: not sampled). */
export const instanceMetricsSchema = z.object({
  cpu: figure,
  rss: figure,
  heapUsed: figure,
  heapLimit: figure,
  eventLoopDelayP50: figure,
  eventLoopDelayP99: figure,
  eventLoopDelayMax: figure,
  eventLoopUtilization: figure,
  gcPauseMs: figure,
  uptime: figure,
  activeHandles: figure,
  /** Backend clock, epoch ms, when the beat that carried them arrived. */
  sampledAt: z.number().int().nonnegative(),
});

/** The wire array of a beat as the API's object. */
export function metricsOf(figures: readonly (number | null)[], sampledAt: number): z.infer<typeof instanceMetricsSchema> {
  return {
    cpu: figures[0] ?? null,
    rss: figures[1] ?? null,
    heapUsed: figures[2] ?? null,
    heapLimit: figures[3] ?? null,
    eventLoopDelayP50: figures[4] ?? null,
    eventLoopDelayP99: figures[5] ?? null,
    eventLoopDelayMax: figures[6] ?? null,
    eventLoopUtilization: figures[7] ?? null,
    gcPauseMs: figures[8] ?? null,
    uptime: figures[9] ?? null,
    activeHandles: figures[10] ?? null,
    sampledAt,
  };
}

/** Instance-list sort keys that read the latest metrics (instances without metrics sort last, in either order). */
export const METRIC_SORT_KEYS = ['cpu', 'rss', 'eventLoopDelayP99'] as const;

/** One point of an instance's metrics history (figures as in `instanceMetricsSchema`; null: not sampled then). */
export const metricsSampleSchema = z.object({
  /** Backend clock, epoch ms: the start of the bucket an aggregate covers, or the arrival of the beat a fine sample came with. */
  t: z.number().int().nonnegative(),
  cpu: figure,
  rss: figure,
  heapUsed: figure,
  heapLimit: figure,
  eventLoopDelayP50: figure,
  eventLoopDelayP99: figure,
  eventLoopDelayMax: figure,
  eventLoopUtilization: figure,
});

/**
 * `GET /api/v1/instances/:id/metrics`: at least the last 30 minutes, oldest first. Every instance
 * has per-bucket aggregates (`resolutionMs` wide: the mean of each figure, the worst for the
 * event-loop delay p99 and max); an instance a dashboard watches has a sample per beat from when
 * the watching began, after the aggregates (docs/backend.md, Metrics history).
 */
export const metricsHistorySchema = z.object({
  instanceId: z.string(),
  samples: z.array(metricsSampleSchema),
  resolutionMs: z.number().int().positive(),
});
