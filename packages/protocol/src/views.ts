import { z } from 'zod';
import { HEALTH_STATUSES, INSTANCE_STATUSES, LIMITS } from './constants.js';
import { METRIC_SORT_KEYS, healthStatusSchema, instanceMetricsSchema } from './health.js';
import { eventRecordSchema, instanceSchema, instanceStatusSchema } from './schemas.js';

/**
 * What a dashboard and the backend say to each other over socket.io (event maps in types.ts): the
 * view a dashboard subscribes to, the snapshot that answers it, and the deltas that follow.
 */

const epochMs = z.number().int().nonnegative();

/**
 * Sort keys of the instance list, for `GET /api/v1/instances` and for a dashboard's view. Time
 * sorts default to newest first, names to A-Z, metrics (METRIC_SORT_KEYS) to the highest first;
 * instances without metrics sort last in either order.
 */
export const INSTANCE_SORT_KEYS = [
  'service',
  'lastHeartbeatTime',
  'registeredAt',
  'hostName',
  'status',
  'appName',
  ...METRIC_SORT_KEYS,
] as const;

/** Most rows a dashboard's window may hold: a screenful and a scroll margin, never the fleet. */
export const MAX_WINDOW_ROWS = 500;

/** Most instances a dashboard may watch by id (the detail view watches one). */
export const MAX_WATCHED_INSTANCES = 20;

const viewText = z.string().trim().min(1).max(256);
const count = z.number().int().nonnegative();
const statusCounts = z.record(instanceStatusSchema, count);

/**
 * The slice of the instance list a dashboard shows: the filters and sort of
 * `GET /api/v1/instances`, with typed values instead of query strings, and an offset/limit window.
 */
export const instanceWindowSchema = z.object({
  service: viewText.optional(),
  app: viewText.optional(),
  status: z.array(instanceStatusSchema).min(1).max(INSTANCE_STATUSES.length).optional(),
  /** What the instances last said of their own health (instances that never said match none). */
  health: z.array(healthStatusSchema).min(1).max(HEALTH_STATUSES.length).optional(),
  plugin: viewText.optional(),
  /** Text search over host name, IPs, instance id and service. */
  q: viewText.optional(),
  sort: z.enum(INSTANCE_SORT_KEYS),
  order: z.enum(['asc', 'desc']).optional(),
  offset: z.number().int().min(0).max(100_000_000),
  limit: z.number().int().min(1).max(MAX_WINDOW_ROWS),
});

/** `subscribe`: what a dashboard shows now. Each subscribe replaces the previous one. */
export const viewRequestSchema = z.object({
  /** The table window, or null when the page shows no instance list. */
  window: instanceWindowSchema.nullable(),
  /** Instances followed by id whatever the window (the detail view). */
  watch: z.array(z.string().min(1).max(LIMITS.idLength)).max(MAX_WATCHED_INSTANCES),
});

/** Fleet-wide counts: the same shape as `GET /api/v1/instances/counts`. */
export const fleetCountsSchema = z.object({
  apps: count,
  services: count,
  instances: count,
  byStatus: statusCounts,
});

/** One service of the fleet (a wallboard tile). `instances: 0` in a delta: the service is gone. */
export const serviceSummarySchema = z.object({
  service: z.string(),
  instances: count,
  byStatus: statusCounts,
});

/** How many instances of a service run a plugin version. `instances: 0` in a delta: none any more. */
export const pluginUsageSchema = z.object({
  plugin: z.string(),
  version: z.string(),
  service: z.string(),
  instances: count,
});

/** The whole state a view starts from: the answer to `subscribe`, so also after every reconnect. */
export const viewSnapshotSchema = z.object({
  /** Rows `offset .. offset + instances.length` of the filtered, sorted list, and how many match. */
  window: z.object({ offset: count, total: count, instances: z.array(instanceSchema) }).nullable(),
  /** The watched instances that exist. */
  watched: z.array(instanceSchema),
  counts: fleetCountsSchema,
  services: z.array(serviceSummarySchema),
  plugins: z.array(pluginUsageSchema),
  serverTime: epochMs,
});

/** Acknowledgement of `subscribe`: the snapshot, or why the view was refused. */
export const subscribeReplySchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), snapshot: viewSnapshotSchema }),
  z.object({ ok: z.literal(false), error: z.string(), issues: z.array(z.string()) }),
]);

/** Changes since the previous delta, for one view; at most one every 200 ms. */
export const deltaSchema = z.object({
  /**
   * The window's ids in order and the match count, when either changed (an instance entered,
   * left or moved). Rows not listed leave the window; listed rows the client lacks are in `upserts`.
   */
  window: z.object({ total: count, ids: z.array(z.string()) }).optional(),
  /** Window or watched instances that are new to the client or whose visible fields changed, whole. */
  upserts: z.array(instanceSchema),
  /** Watched instances that were removed. */
  removed: z.array(z.string()),
  /** Instance id -> lastHeartbeatTime, for window or watched rows whose beats changed nothing else. */
  beats: z.record(z.string(), epochMs),
  /**
   * Instance id -> its latest metrics, for window or watched rows whose beats brought metrics and
   * changed nothing else (their time is in `beats`): a row's figures without the whole instance.
   */
  metrics: z.record(z.string(), instanceMetricsSchema).optional(),
  /** The fleet counts, when they changed. */
  counts: fleetCountsSchema.optional(),
  /** Services whose counts changed. */
  services: z.array(serviceSummarySchema).optional(),
  /** Plugin usage entries that changed. */
  plugins: z.array(pluginUsageSchema).optional(),
  /** Events recorded since the previous delta, oldest first (at most the newest 200). */
  events: z.array(eventRecordSchema),
  serverTime: epochMs,
});
