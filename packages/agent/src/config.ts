import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'dot-properties';
import {
  DEFAULT_BACKEND_PORT,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  LIMITS,
  MAX_HEARTBEAT_INTERVAL_MS,
  MIN_HEARTBEAT_INTERVAL_MS,
} from './protocol';
import { isPackageName } from './plugins/define-plugin';

/** How beats travel: a long-lived WebSocket (HTTP while it is not open), or HTTP requests only. */
export const HEARTBEAT_TRANSPORTS = ['websocket', 'http'] as const;
export type HeartbeatTransport = (typeof HEARTBEAT_TRANSPORTS)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Every key the agent reads; anything else in the file is a typo or a leftover, and is warned about. */
export const CONFIG_KEYS = [
  'agent.service.heartbeat.enable',
  'heartbeat.interval',
  'heartbeat.transport',
  'agent.service.event.enable',
  'event.send.interval',
  'backend.url',
  'service.name',
  'app.name',
  'app.type',
  'artifact',
  'plugins.dir',
  'plugins',
  'log.level',
  'agent.token',
  'backend.tls.ca',
  'metrics.enable',
  'health.timeout',
] as const;

/** Keys whose values are secrets: never in a log line. */
const SECRET_KEYS: ReadonlySet<string> = new Set(['agent.token']);

/** The agent's configuration, after defaults and validation. Property docs name the config key. */
export interface AgentConfig {
  /** `agent.service.heartbeat.enable` */
  heartbeatEnabled: boolean;
  /** `heartbeat.interval`, ms, until the backend sets another */
  heartbeatIntervalMs: number;
  /** `heartbeat.transport` */
  heartbeatTransport: HeartbeatTransport;
  /** `agent.service.event.enable` */
  eventsEnabled: boolean;
  /** `event.send.interval`, ms: how long events are gathered into one batch */
  eventSendIntervalMs: number;
  /** `backend.url`, comma-separated, tried in order on failure. Normalised: no trailing slash. */
  backendUrls: [string, ...string[]];
  /** `service.name` */
  serviceName: string;
  /** `app.name` */
  appName: string;
  /** `app.type` */
  appType: string;
  /** `artifact` */
  artifact: string;
  /** `plugins.dir`, absolute */
  pluginsDir: string;
  /** `plugins`: folder names in pluginsDir or installed package names; undefined means every folder in pluginsDir. */
  plugins: string[] | undefined;
  /** `log.level` */
  logLevel: LogLevel;
  /** `agent.token`: sent as `Authorization: Bearer` with beats and event batches; never logged. */
  agentToken: string | undefined;
  /** `backend.tls.ca`: PEM file of the CA that signed an https backend's certificate (else the system's CAs). Absolute. */
  backendTlsCa: string | undefined;
  /** `metrics.enable`: runtime metrics in every beat (off: no sampler at all, no `metrics` field) */
  metricsEnabled: boolean;
  /** `health.timeout`, ms: how long a health indicator's promise may take before it counts as `down` */
  healthTimeoutMs: number;
}

export interface LoadedConfig {
  config: AgentConfig;
  /** The properties file that was read, or would have been. */
  file: string;
  /** Problems found (bad values, unknown keys, unreadable file), for the caller to log once the logger is set up. */
  warnings: string[];
}

/** Default of `event.send.interval`: events are not urgent, but a command's outcome should show soon. */
export const DEFAULT_EVENT_SEND_INTERVAL_MS = 1000;

/** Default of `health.timeout`: a provider slower than this is as good as down. */
export const DEFAULT_HEALTH_TIMEOUT_MS = 2000;

/** Bounds of `health.timeout`, ms. */
export const HEALTH_TIMEOUT_RANGE_MS = [10, 600_000] as const;

/** `heartbeat.interval` -> `VIGIL_HEARTBEAT_INTERVAL` */
export function envVariableFor(key: string): string {
  return `VIGIL_${key.toUpperCase().replace(/\./g, '_')}`;
}

/**
 * Reads the agent configuration: the Sermant-style properties file named by `VIGIL_CONFIG`
 * (else `vigil/config.properties` under `cwd`; a missing default file just means defaults),
 * each key overridable by its `VIGIL_*` environment variable. A bad value is reported in
 * `warnings` and replaced by the default; unknown keys in the file are reported once. Unknown
 * `VIGIL_*` variables are not: the backend reads variables with the same prefix, and both often
 * share one environment. Pure apart from reading files.
 */
export function loadConfig({ env, cwd }: { env: NodeJS.ProcessEnv; cwd: string }): LoadedConfig {
  const warnings: string[] = [];
  const explicitFile = env.VIGIL_CONFIG;
  const file = path.resolve(cwd, explicitFile ?? path.join('vigil', 'config.properties'));
  const configDir = path.dirname(file);
  const properties = readProperties(file, explicitFile !== undefined, warnings);
  const unknown = Object.keys(properties).filter((key) => !(CONFIG_KEYS as readonly string[]).includes(key));
  if (unknown.length > 0) warnings.push(`config ${file}: unknown keys ignored: ${unknown.join(', ')}`);

  const read = <T>(key: (typeof CONFIG_KEYS)[number], parseValue: (raw: string) => T | undefined, fallback: T, expected: string): T => {
    const variable = envVariableFor(key);
    const fromEnv = env[variable];
    const raw = fromEnv ?? properties[key];
    if (raw === undefined) return fallback;
    const value = parseValue(raw.trim());
    if (value !== undefined) return value;
    const origin = fromEnv === undefined ? '' : ` (from ${variable})`;
    // A secret is never echoed, not even a malformed one.
    const shown = SECRET_KEYS.has(key) ? '(hidden)' : JSON.stringify(raw);
    warnings.push(`config ${key}: bad value ${shown}${origin}, expected ${expected}; using the default ${JSON.stringify(fallback)}`);
    return fallback;
  };

  const nameExpected = `a non-empty name of at most ${LIMITS.nameLength} characters`;
  const intervalExpected = `an integer number of ms from ${MIN_HEARTBEAT_INTERVAL_MS} to ${MAX_HEARTBEAT_INTERVAL_MS}`;
  const serviceName = read('service.name', parseName, packageNameNear(cwd) ?? 'default', nameExpected);
  return {
    file,
    warnings,
    config: {
      heartbeatEnabled: read('agent.service.heartbeat.enable', parseBoolean, true, 'true or false'),
      heartbeatIntervalMs: read('heartbeat.interval', parseInterval, DEFAULT_HEARTBEAT_INTERVAL_MS, intervalExpected),
      heartbeatTransport: read(
        'heartbeat.transport',
        (raw) => HEARTBEAT_TRANSPORTS.find((transport) => transport === raw.toLowerCase()),
        'websocket',
        HEARTBEAT_TRANSPORTS.join(' or '),
      ),
      eventsEnabled: read('agent.service.event.enable', parseBoolean, true, 'true or false'),
      eventSendIntervalMs: read('event.send.interval', parseInterval, DEFAULT_EVENT_SEND_INTERVAL_MS, intervalExpected),
      backendUrls: read('backend.url', parseUrls, [`http://127.0.0.1:${DEFAULT_BACKEND_PORT}`], 'comma-separated http(s) URLs'),
      serviceName,
      appName: read('app.name', parseName, 'default', nameExpected),
      appType: read('app.type', parseName, 'default', nameExpected),
      artifact: read('artifact', parseName, serviceName, nameExpected),
      pluginsDir: read(
        'plugins.dir',
        (raw) => (raw === '' ? undefined : path.resolve(configDir, raw)),
        path.join(configDir, 'plugins'),
        'a directory path',
      ),
      plugins: read('plugins', parsePluginNames, undefined, 'comma-separated plugin folder or package names'),
      logLevel: read('log.level', parseLogLevel, 'warn', LOG_LEVELS.join(', ')),
      agentToken: read('agent.token', parseToken, undefined, 'printable ASCII without spaces or commas'),
      backendTlsCa: read('backend.tls.ca', (raw) => readableFile(path.resolve(configDir, raw)), undefined, 'a readable PEM file'),
      metricsEnabled: read('metrics.enable', parseBoolean, true, 'true or false'),
      healthTimeoutMs: read(
        'health.timeout',
        parseHealthTimeout,
        DEFAULT_HEALTH_TIMEOUT_MS,
        `an integer number of ms from ${HEALTH_TIMEOUT_RANGE_MS[0]} to ${HEALTH_TIMEOUT_RANGE_MS[1]}`,
      ),
    },
  };
}

function readProperties(file: string, explicit: boolean, warnings: string[]): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    // The default file is optional; a file the user named, or one we cannot read, deserves a word.
    if (!missing || explicit) warnings.push(`config file ${file} cannot be read (${(error as Error).message}); using defaults`);
    return {};
  }
  // Without the `path` flag dot-properties returns a flat key -> string map.
  return parse(text) as Record<string, string>;
}

function parseBoolean(raw: string): boolean | undefined {
  const lower = raw.toLowerCase();
  return lower === 'true' ? true : lower === 'false' ? false : undefined;
}

/** Heartbeat and event intervals share the protocol's bounds for a backend-set interval. */
function parseInterval(raw: string): number | undefined {
  if (!/^\d+$/.test(raw)) return undefined;
  const ms = Number(raw);
  return ms >= MIN_HEARTBEAT_INTERVAL_MS && ms <= MAX_HEARTBEAT_INTERVAL_MS ? ms : undefined;
}

function parseHealthTimeout(raw: string): number | undefined {
  if (!/^\d+$/.test(raw)) return undefined;
  const ms = Number(raw);
  return ms >= HEALTH_TIMEOUT_RANGE_MS[0] && ms <= HEALTH_TIMEOUT_RANGE_MS[1] ? ms : undefined;
}

function parseUrls(raw: string): [string, ...string[]] | undefined {
  const urls: string[] = [];
  for (const entry of splitList(raw)) {
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      return undefined;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    urls.push(url.origin + url.pathname.replace(/\/+$/, ''));
  }
  const [first, ...rest] = urls;
  return first === undefined ? undefined : [first, ...rest];
}

function parseToken(raw: string): string | undefined {
  return /^[\x21-\x7e]+$/.test(raw) && !raw.includes(',') ? raw : undefined;
}

function readableFile(file: string): string | undefined {
  try {
    readFileSync(file);
    return file;
  } catch {
    return undefined;
  }
}

function parseName(raw: string): string | undefined {
  return raw.length > 0 && raw.length <= LIMITS.nameLength ? raw : undefined;
}

/**
 * Plugin names are plain folder names inside plugins.dir or npm package names (`@acme/x`), never
 * paths. An empty list loads no plugin.
 */
function parsePluginNames(raw: string): string[] | undefined {
  const names = splitList(raw);
  const isFolder = (name: string) => name === path.basename(name) && name !== '.' && name !== '..';
  return names.every((name) => isFolder(name) || isPackageName(name)) ? names : undefined;
}

function parseLogLevel(raw: string): LogLevel | undefined {
  return LOG_LEVELS.find((level) => level === raw.toLowerCase());
}

function splitList(raw: string): string[] {
  return raw
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

/** `name` of the nearest package.json that has one, from `dir` upward. */
function packageNameNear(dir: string): string | undefined {
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    const name = packageNameIn(current);
    if (name !== undefined) return name;
    if (path.dirname(current) === current) return undefined;
  }
}

function packageNameIn(dir: string): string | undefined {
  try {
    const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown };
    return typeof manifest.name === 'string' ? parseName(manifest.name) : undefined;
  } catch {
    // No package.json here, or an unreadable one: keep looking upward.
    return undefined;
  }
}
