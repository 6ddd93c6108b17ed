/**
 * Runtime constants of the Vigil protocol. This module must stay free of zod (and of any
 * dependency) because the agent loads it inside users' services.
 */

/** Version of the heartbeat message format; carried in every beat as `v`. */
export const PROTOCOL_VERSION = 1 as const;

/** HTTP path agents send beats to (PUT, JSON body). */
export const HEARTBEAT_PATH = '/api/v1/heartbeat';

/**
 * WebSocket path agents keep one connection open to for their beats (Nacos 2.x's long
 * connection idea): each text message is a heartbeat, exactly the JSON of the PUT body, and each
 * is answered, in order, by one `BeatSocketAnswer`. HTTP stays the fallback.
 */
export const HEARTBEAT_SOCKET_PATH = '/api/v1/heartbeat/socket';

/** REST path listing instances. */
export const INSTANCES_PATH = '/api/v1/instances';

/** HTTP path agents send event batches to (POST, JSON body). */
export const EVENTS_PATH = '/api/v1/events';

/**
 * Instance statuses, as shown to users (a word, never only a colour): `healthy` beats on time;
 * `suspect` a beat is overdue (or self-preservation holds it); `lost` stopped beating;
 * `offline` said goodbye (deregistered); `unhealthy` a persistent instance failing its probes, or
 * an agent's instance whose beats report its health `down`.
 */
export const INSTANCE_STATUSES = ['healthy', 'suspect', 'lost', 'offline', 'unhealthy'] as const;

/** Where an instance came from: a Vigil agent's beats, or a Nacos v1 client. */
export const INSTANCE_SOURCES = ['agent', 'nacos'] as const;

/** Event levels, most severe first (Sermant's). */
export const EVENT_LEVELS = ['emergency', 'important', 'normal'] as const;

/**
 * Commands the backend sends to an agent in a beat reply: switch a loaded plugin off or on, and
 * (issue 22) install a plugin into the running service, uninstall it, or upgrade it to a version.
 */
export const PLUGIN_COMMAND_TYPES = ['plugin.disable', 'plugin.enable', 'plugin.install', 'plugin.uninstall', 'plugin.upgrade'] as const;

/** Types a plugin's declared setting may have (dynamic configuration, issue 22). */
export const PLUGIN_SETTING_TYPES = ['string', 'number', 'boolean', 'string[]'] as const;

/**
 * Answers to a beat: a full beat registers or renews; a light beat for an unknown instance gets
 * `unknown` (send a full beat now); a goodbye gets `offline`.
 */
export const BEAT_RESULTS = ['registered', 'renewed', 'unknown', 'offline'] as const;

/** Defaults shared by agent and backend docs. */
export const DEFAULT_BACKEND_PORT = 8900;
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 5000;
export const DEFAULT_LOST_AFTER_MS = 15_000;
export const DEFAULT_REMOVE_AFTER_MS = 600_000;

/** Limits on a beat; the schema enforces them and the docs list them. */
export const LIMITS = {
  idLength: 128,
  nameLength: 256,
  hostNameLength: 255,
  ips: 64,
  plugins: 128,
  extInfoEntries: 64,
  extInfoKeyLength: 128,
  extInfoValueLength: 1024,
  beatBodyBytes: 256 * 1024,
  eventsPerBatch: 100,
  eventMessageLength: 4096,
  eventAttributes: 32,
  commandsPerReply: 32,
  metadataEntries: 64,
  healthIndicators: 32,
  healthDetails: 16,
  metricsFields: 32,
  pluginSettings: 64,
  settingValueLength: 4096,
  settingListItems: 64,
} as const;

/**
 * The runtime metrics a beat carries, in this order, as one array of numbers (`metrics`; null
 * where the agent could not sample a figure): compact enough for light beats. Units: `cpu` % of
 * one core since the previous sample; `rss`, `heapUsed`, `heapLimit` bytes; `eventLoopDelay*` ms
 * since the previous sample; `eventLoopUtilization` 0..1 since the previous sample; `gcPauseMs`
 * ms spent in GC since the previous sample; `uptime` s of the process; `activeHandles` a count.
 * A newer agent may append fields: readers take the ones they know and ignore the rest.
 */
export const METRIC_FIELDS = [
  'cpu',
  'rss',
  'heapUsed',
  'heapLimit',
  'eventLoopDelayP50',
  'eventLoopDelayP99',
  'eventLoopDelayMax',
  'eventLoopUtilization',
  'gcPauseMs',
  'uptime',
  'activeHandles',
] as const;

/**
 * What an instance says of its own health (a health indicator, and the instance as the worst
 * of its indicators): `up` works; `degraded` works, impaired (still serves: its lease status stays
 * `healthy`); `down` does not work (the backend shows the instance `unhealthy`).
 */
export const HEALTH_STATUSES = ['up', 'degraded', 'down'] as const;

/** Bounds on the interval a backend may ask agents to beat at. */
export const MIN_HEARTBEAT_INTERVAL_MS = 100;
export const MAX_HEARTBEAT_INTERVAL_MS = 3_600_000;
