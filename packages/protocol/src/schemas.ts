import { z } from 'zod';
import {
  BEAT_RESULTS,
  EVENT_LEVELS,
  INSTANCE_SOURCES,
  INSTANCE_STATUSES,
  LIMITS,
  MAX_HEARTBEAT_INTERVAL_MS,
  MIN_HEARTBEAT_INTERVAL_MS,
  PLUGIN_COMMAND_TYPES,
  METRIC_FIELDS,
  PROTOCOL_VERSION,
} from './constants.js';
import { beatMetricsSchema, healthReportSchema, instanceMetricsSchema } from './health.js';
import { configDeliverySchema, settingDeclarationsSchema } from './plugin-ops.js';

const name = z.string().min(1).max(LIMITS.nameLength);
const epochMs = z.number().int().nonnegative();

export const extInfoSchema = z
  .record(z.string().min(1).max(LIMITS.extInfoKeyLength), z.string().max(LIMITS.extInfoValueLength))
  .refine((info) => Object.keys(info).length <= LIMITS.extInfoEntries, {
    message: `at most ${LIMITS.extInfoEntries} ext-info entries`,
  });

/** Nacos's per-instance timing keys (ms as strings), and the range each may take. */
const TIMING_KEYS: Record<string, readonly [number, number]> = {
  'preserved.heart.beat.interval': [MIN_HEARTBEAT_INTERVAL_MS, MAX_HEARTBEAT_INTERVAL_MS],
  'preserved.heart.beat.timeout': [1, 30 * 86_400_000],
  'preserved.ip.delete.timeout': [1, 30 * 86_400_000],
};

/**
 * Free-form string -> string facts about an instance (Nacos metadata; per-instance timing keys).
 * A timing key must hold a whole number of ms in its range: `NaN`, `Infinity`, `-5` or `1e3`
 * are refused with the key named, rather than silently falling back to the defaults.
 */
export const metadataSchema = z
  .record(z.string().min(1).max(LIMITS.extInfoKeyLength), z.string().max(LIMITS.extInfoValueLength))
  .refine((m) => Object.keys(m).length <= LIMITS.metadataEntries, {
    message: `at most ${LIMITS.metadataEntries} metadata entries`,
  })
  .superRefine((m, ctx) => {
    for (const [key, [min, max]] of Object.entries(TIMING_KEYS)) {
      const value = m[key];
      if (value === undefined) continue;
      const ms = /^\d{1,10}$/.test(value.trim()) ? Number(value) : NaN;
      if (!(ms >= min && ms <= max)) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `must be a whole number of ms from ${min} to ${max}, not ${JSON.stringify(value)}`,
        });
      }
    }
  });

export const pluginInfoSchema = z.object({
  name: z.string().min(1).max(LIMITS.nameLength),
  version: z.string().min(1).max(64),
  extInfo: extInfoSchema,
  /** false: switched off at run time by a command (its interceptors unwrapped). Absent: running. */
  enabled: z.boolean().optional(),
  /** The settings the plugin declares (dynamic configuration, plugin-ops.ts); absent: none. */
  settings: settingDeclarationsSchema.optional(),
  /** The configuration version the plugin runs with (0 or absent: its config file and defaults). */
  configVersion: z.number().int().nonnegative().optional(),
  /** A configuration version its `onChange` refused (rolled back on this instance); absent: none. */
  configRejected: z.number().int().positive().optional(),
});

/** Fields both beat kinds carry. */
const beatBase = {
  v: z.literal(PROTOCOL_VERSION),
  instanceId: z.string().min(1).max(LIMITS.idLength),
  /** Agent clock, epoch ms, of this beat. */
  heartbeatTime: epochMs,
  /** Agent clock, epoch ms, of the previous beat; null on the first beat. */
  lastHeartbeatTime: epochMs.nullable(),
};

export const eventLevelSchema = z.enum(EVENT_LEVELS);

/** One event an agent reports (Sermant's event module: framework, log and plugin events). */
export const agentEventSchema = z.object({
  /** Agent clock, epoch ms. */
  time: epochMs,
  level: eventLevelSchema,
  /** Dotted type, e.g. `agent.started`, `plugin.loaded`, `plugin.failed`, `plugin.disabled`, `log.warn`, `log.error`. */
  type: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[a-z][a-z0-9-]*(\.[a-z0-9-]+)*$/, 'must be dotted lower-case words'),
  message: z.string().max(LIMITS.eventMessageLength),
  /** Extra facts: plugin name, command id, error... */
  attributes: z
    .record(z.string().min(1).max(LIMITS.extInfoKeyLength), z.string().max(LIMITS.extInfoValueLength))
    .refine((a) => Object.keys(a).length <= LIMITS.eventAttributes, {
      message: `at most ${LIMITS.eventAttributes} attributes`,
    })
    .optional(),
});

/** A full beat: the whole Sermant heartbeat message plus the plugin list. */
export const fullBeatSchema = z.object({
  ...beatBase,
  kind: z.literal('full'),
  service: name,
  appName: name,
  artifact: name,
  appType: name,
  hostName: z.string().min(1).max(LIMITS.hostNameLength),
  ip: z.array(z.union([z.ipv4(), z.ipv6()])).max(LIMITS.ips),
  processId: z.number().int().positive(),
  dynamicInstall: z.boolean(),
  /** Version of the agent core. */
  version: z.string().min(1).max(64),
  plugins: z.array(pluginInfoSchema).max(LIMITS.plugins),
  /** Optional instance metadata; `preserved.heart.beat.*` keys set per-instance timings (docs/backend.md). */
  metadata: metadataSchema.optional(),
  /**
   * The agent's events queued when it beats in full (its first events, `agent.started`...), so
   * that a quiet agent needs no second connection: recorded as a batch would be, once the beat
   * is applied; the reply says `eventsTaken` when they were.
   */
  events: z.array(agentEventSchema).max(LIMITS.eventsPerBatch).optional(),
  /** Events the agent dropped since its previous batch because its queue was full. */
  dropped: z.number().int().nonnegative().optional(),
  /** Runtime metrics sampled for this beat, in METRIC_FIELDS order (health.ts). */
  metrics: beatMetricsSchema.optional(),
  /** The instance's own health: the worst indicator and each indicator (health.ts). */
  health: healthReportSchema.optional(),
});

/** A light beat: renews the lease of an instance the backend already knows. */
export const lightBeatSchema = z.object({
  ...beatBase,
  kind: z.literal('light'),
  /** Runtime metrics sampled for this beat, in METRIC_FIELDS order (health.ts). */
  metrics: beatMetricsSchema.optional(),
});

type LightOrGoodbye = z.infer<typeof lightBeatSchema> | z.infer<typeof goodbyeBeatSchema>;

const isEpochMs = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

/** What `beatMetricsSchema` accepts, by hand: an array of finite non-negative numbers or nulls, of a length in range. */
function isMetrics(value: unknown): value is (number | null)[] {
  if (!Array.isArray(value) || value.length < METRIC_FIELDS.length || value.length > LIMITS.metricsFields) return false;
  for (const figure of value) {
    if (figure !== null && !(typeof figure === 'number' && figure >= 0 && figure !== Infinity)) return false;
  }
  return true;
}

/**
 * `heartbeatSchema.safeParse`, with a fast path for what agents send between changes (a light
 * beat, or a goodbye without events): when the body has valid values for the five fields of those beats, it is
 * answered by a handful of type checks instead of zod's union (same output: only those fields).
 * Anything else, including every invalid body, goes through the schema, so errors are zod's.
 */
export function parseHeartbeat(body: unknown): ReturnType<typeof heartbeatSchema.safeParse> {
  if (typeof body === 'object' && body !== null) {
    const { v, kind, instanceId, heartbeatTime, lastHeartbeatTime, events, dropped, metrics } = body as Record<string, unknown>;
    if (
      (kind === 'light' || (kind === 'goodbye' && events === undefined && dropped === undefined)) &&
      (metrics === undefined || (kind === 'light' && isMetrics(metrics))) &&
      v === PROTOCOL_VERSION &&
      typeof instanceId === 'string' &&
      instanceId.length >= 1 &&
      instanceId.length <= LIMITS.idLength &&
      isEpochMs(heartbeatTime) &&
      (lastHeartbeatTime === null || isEpochMs(lastHeartbeatTime))
    ) {
      // Exactly those five own fields (a parsed body nearly always): the body is the output as it is.
      let fields = 0;
      for (const key in body) if (Object.hasOwn(body, key)) fields++;
      if (fields === (metrics === undefined ? 5 : 6) && Object.getPrototypeOf(body) === Object.prototype) {
        return { success: true, data: body as LightOrGoodbye };
      }
      const data = { v, instanceId, heartbeatTime, lastHeartbeatTime, kind } as LightOrGoodbye;
      if (metrics !== undefined) (data as { metrics?: unknown }).metrics = metrics;
      return { success: true, data };
    }
  }
  return heartbeatSchema.safeParse(body);
}

/** Disable or enable one plugin on the agent that receives it (its interceptors are unpatched / repatched). */
export const pluginCommandSchema = z.object({
  /** Backend-chosen id; the agent's outcome event carries it back. */
  id: z.string().min(1).max(LIMITS.idLength),
  type: z.enum(PLUGIN_COMMAND_TYPES),
  plugin: z.string().min(1).max(LIMITS.nameLength),
  /** `plugin.install` / `plugin.upgrade`: the version to load (absent: the one the agent finds). */
  version: z.string().min(1).max(64).optional(),
});

export const beatReplySchema = z.object({
  result: z.enum(BEAT_RESULTS),
  /** Backend clock, epoch ms, when the beat was applied. */
  serverTime: epochMs,
  /** When present, the interval the agent must beat at from now on (Nacos's clientBeatInterval). */
  interval: z.number().int().min(MIN_HEARTBEAT_INTERVAL_MS).max(MAX_HEARTBEAT_INTERVAL_MS).optional(),
  /** Commands for this agent, each delivered once. */
  commands: z.array(pluginCommandSchema).max(LIMITS.commandsPerReply).optional(),
  /** True when the full beat's `events` were recorded (absent: the agent sends them as a batch). */
  eventsTaken: z.literal(true).optional(),
  /** New configuration for some of the agent's plugins (plugin-ops.ts). */
  config: z.array(configDeliverySchema).max(LIMITS.plugins).optional(),
});

/** `POST /api/v1/events`: a batch of an agent's events. */
/**
 * A goodbye: the service is stopping; the backend shows it `offline` at once instead of `lost`
 * later. It may carry the agent's last events (`agent.stopped` with the reason, and whatever was
 * still queued), recorded as a batch would be: one message as the process ends, where a second
 * connection might not be made in time.
 */
export const goodbyeBeatSchema = z.object({
  ...beatBase,
  kind: z.literal('goodbye'),
  events: z.array(agentEventSchema).max(LIMITS.eventsPerBatch).optional(),
  /** Events the agent dropped since its previous batch because its queue was full. */
  dropped: z.number().int().nonnegative().optional(),
});

export const heartbeatSchema = z.discriminatedUnion('kind', [fullBeatSchema, lightBeatSchema, goodbyeBeatSchema]);

export const eventBatchSchema = z.object({
  v: z.literal(PROTOCOL_VERSION),
  instanceId: z.string().min(1).max(LIMITS.idLength),
  events: z.array(agentEventSchema).max(LIMITS.eventsPerBatch),
  /** Events the agent dropped since its previous batch because its queue was full. */
  dropped: z.number().int().nonnegative(),
});

export const instanceStatusSchema = z.enum(INSTANCE_STATUSES);

/** Nacos coordinates of an instance registered through the Nacos v1 API. */
export const nacosCoordinatesSchema = z.object({
  namespaceId: z.string(),
  groupName: z.string(),
  clusterName: z.string(),
  port: z.number().int().min(0).max(65_535),
  weight: z.number().nonnegative(),
  enabled: z.boolean(),
});

/** An instance as the REST API and the dashboard see it. */
export const instanceSchema = fullBeatSchema
  .omit({
    v: true,
    kind: true,
    heartbeatTime: true,
    lastHeartbeatTime: true,
    metadata: true,
    processId: true,
    events: true,
    dropped: true,
    metrics: true,
    health: true,
  })
  .extend({
    /** The latest runtime metrics its beats carried; null when none did (an older agent, metrics off, Nacos). */
    metrics: instanceMetricsSchema.nullable(),
    /** What it last said of its own health; null when it never did. */
    health: healthReportSchema.nullable(),
    source: z.enum(INSTANCE_SOURCES),
    /** Null when unknown (Nacos clients do not send it). */
    processId: z.number().int().positive().nullable(),
    metadata: metadataSchema,
    /** Ephemeral instances live by beats; persistent ones (Nacos) are probed and never removed by silence. */
    ephemeral: z.boolean(),
    nacos: nacosCoordinatesSchema.optional(),
    status: instanceStatusSchema,
    /** Backend clock, epoch ms, of the first beat of this instance. */
    registeredAt: epochMs,
    /** Backend clock, epoch ms, when the last beat arrived. */
    lastHeartbeatTime: epochMs,
    /** Backend clock, epoch ms, when `status` took its current value. */
    statusSince: epochMs,
  });

export const instanceListSchema = z.object({
  instances: z.array(instanceSchema),
  /** Instances matching the filter (all pages). */
  total: z.number().int().nonnegative(),
});

/** An event as stored by the backend and shown on the dashboard. */
export const eventRecordSchema = z.object({
  /** Increasing id; later events have larger ids. */
  id: z.string(),
  /** Backend clock, epoch ms, when the event was recorded. */
  time: epochMs,
  level: eventLevelSchema,
  type: z.string(),
  /** `backend` for events the backend derives (lost, registered...), `agent` for events agents send. */
  origin: z.enum(['backend', 'agent']),
  message: z.string(),
  instanceId: z.string().optional(),
  service: z.string().optional(),
  attributes: z.record(z.string(), z.string()),
});

export const eventListSchema = z.object({
  events: z.array(eventRecordSchema),
  total: z.number().int().nonnegative(),
});

/** Turns a zod error into `field: message` lines, the form every 400 answer uses. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : '(body)'}: ${issue.message}`);
}
