/**
 * Wire types, inferred from the schemas. Importing this module loads nothing at run time
 * (every import here is type-only), so the agent can use it without loading zod.
 */
import type { z } from 'zod';
import type {
  agentEventSchema,
  beatReplySchema,
  eventBatchSchema,
  eventListSchema,
  eventRecordSchema,
  nacosCoordinatesSchema,
  goodbyeBeatSchema,
  pluginCommandSchema,
  fullBeatSchema,
  heartbeatSchema,
  instanceListSchema,
  instanceSchema,
  lightBeatSchema,
  pluginInfoSchema,
} from './schemas.js';
import type {
  deltaSchema,
  fleetCountsSchema,
  instanceWindowSchema,
  pluginUsageSchema,
  serviceSummarySchema,
  subscribeReplySchema,
  viewRequestSchema,
  viewSnapshotSchema,
} from './views.js';
import type {
  appliedConfigSchema,
  configHistorySchema,
  configVersionSchema,
  pluginConfigInputSchema,
  pluginConfigSchema,
} from './plugin-config.js';
import type { configDeliverySchema, settingDeclarationSchema, settingValueSchema, settingValuesSchema } from './plugin-ops.js';
import type {
  healthIndicatorSchema,
  healthReportSchema,
  instanceMetricsSchema,
  metricsHistorySchema,
  metricsSampleSchema,
} from './health.js';
import type {
  BEAT_RESULTS,
  EVENT_LEVELS,
  HEALTH_STATUSES,
  PLUGIN_SETTING_TYPES,
  INSTANCE_SOURCES,
  INSTANCE_STATUSES,
} from './constants.js';
import type {
  WEBHOOK_FORMATS,
  deliveryStatsSchema,
  lastDeliverySchema,
  webhookInputSchema,
  webhookListSchema,
  webhookSchema,
  webhookTestOutcomeSchema,
} from './webhooks.js';
import type {
  PLUGIN_COMMAND_STATES,
  bulkPluginCommandBodySchema,
  pluginCommandSentSchema,
  pluginCommandStateSchema,
} from './plugin-admin.js';
import type { ALERT_COMPARISONS, ALERT_METRICS, alertRuleInputSchema, alertRuleListSchema, alertRuleSchema } from './rules.js';

export type PluginInfo = z.infer<typeof pluginInfoSchema>;
export type FullBeat = z.infer<typeof fullBeatSchema>;
export type LightBeat = z.infer<typeof lightBeatSchema>;
export type GoodbyeBeat = z.infer<typeof goodbyeBeatSchema>;
export type Heartbeat = z.infer<typeof heartbeatSchema>;
export type PluginCommand = z.infer<typeof pluginCommandSchema>;
export type AgentEvent = z.infer<typeof agentEventSchema>;
export type EventBatch = z.infer<typeof eventBatchSchema>;
export type EventLevel = (typeof EVENT_LEVELS)[number];
export type EventRecord = z.infer<typeof eventRecordSchema>;
export type EventList = z.infer<typeof eventListSchema>;
export type NacosCoordinates = z.infer<typeof nacosCoordinatesSchema>;
export type BeatReply = z.infer<typeof beatReplySchema>;
export type BeatResult = (typeof BEAT_RESULTS)[number];

/** What the beat endpoint answers when it refuses a beat (HTTP 4xx body). */
export interface BeatProblem {
  error: string;
  /** For a beat that failed validation: each problem, naming the field. */
  issues?: string[];
  /** What to do about it (a token's scope, a rate limit). */
  message?: string;
  /** With 429: the interval to beat at from now on. */
  interval?: number;
}

/**
 * One answer on the beat socket (`HEARTBEAT_SOCKET_PATH`): the status and body the same beat
 * would get over HTTP, so both transports mean the same thing.
 */
export interface BeatSocketAnswer {
  status: number;
  body: BeatReply | BeatProblem;
}
export type SettingValue = z.infer<typeof settingValueSchema>;
export type SettingValues = z.infer<typeof settingValuesSchema>;
export type SettingDeclaration = z.infer<typeof settingDeclarationSchema>;
export type ConfigDelivery = z.infer<typeof configDeliverySchema>;
export type PluginConfigInput = z.infer<typeof pluginConfigInputSchema>;
export type AppliedConfig = z.infer<typeof appliedConfigSchema>;
export type PluginConfig = z.infer<typeof pluginConfigSchema>;
export type ConfigVersion = z.infer<typeof configVersionSchema>;
export type ConfigHistory = z.infer<typeof configHistorySchema>;
export type PluginSettingType = (typeof PLUGIN_SETTING_TYPES)[number];
export type HealthStatus = (typeof HEALTH_STATUSES)[number];
export type HealthIndicator = z.infer<typeof healthIndicatorSchema>;
export type HealthReport = z.infer<typeof healthReportSchema>;
export type InstanceMetrics = z.infer<typeof instanceMetricsSchema>;
export type MetricsSample = z.infer<typeof metricsSampleSchema>;
export type MetricsHistory = z.infer<typeof metricsHistorySchema>;
/** A beat's `metrics`: figures in METRIC_FIELDS order, null where not sampled. */
export type BeatMetrics = (number | null)[];
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];
export type InstanceSource = (typeof INSTANCE_SOURCES)[number];
export type Instance = z.infer<typeof instanceSchema>;
export type InstanceList = z.infer<typeof instanceListSchema>;
export type InstanceWindow = z.infer<typeof instanceWindowSchema>;
export type InstanceSortKey = InstanceWindow['sort'];
export type ViewRequest = z.infer<typeof viewRequestSchema>;
export type FleetCounts = z.infer<typeof fleetCountsSchema>;
export type ServiceSummary = z.infer<typeof serviceSummarySchema>;
export type PluginUsage = z.infer<typeof pluginUsageSchema>;
export type ViewSnapshot = z.infer<typeof viewSnapshotSchema>;
export type SubscribeReply = z.infer<typeof subscribeReplySchema>;
export type Delta = z.infer<typeof deltaSchema>;

/** socket.io events the backend sends to dashboards. */
export interface ServerToClientEvents {
  delta: (delta: Delta) => void;
}

/**
 * socket.io events dashboards send to the backend. A socket gets nothing until it subscribes;
 * the acknowledgement carries the snapshot its deltas build on.
 */
export interface ClientToServerEvents {
  subscribe: (view: ViewRequest, ack: (reply: SubscribeReply) => void) => void;
}
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];
export type WebhookInput = z.infer<typeof webhookInputSchema>;
export type LastDelivery = z.infer<typeof lastDeliverySchema>;
export type DeliveryStats = z.infer<typeof deliveryStatsSchema>;
export type Webhook = z.infer<typeof webhookSchema>;
export type WebhookList = z.infer<typeof webhookListSchema>;
export type WebhookTestOutcome = z.infer<typeof webhookTestOutcomeSchema>;
export type AlertMetric = (typeof ALERT_METRICS)[number];
export type AlertComparison = (typeof ALERT_COMPARISONS)[number];
export type AlertRuleInput = z.input<typeof alertRuleInputSchema>;
export type AlertRule = z.infer<typeof alertRuleSchema>;
export type AlertRuleList = z.infer<typeof alertRuleListSchema>;
export type PluginCommandStateName = (typeof PLUGIN_COMMAND_STATES)[number];
export type PluginCommandState = z.infer<typeof pluginCommandStateSchema>;
export type BulkPluginCommand = z.infer<typeof bulkPluginCommandBodySchema>;
export type PluginCommandSent = z.infer<typeof pluginCommandSentSchema>;
