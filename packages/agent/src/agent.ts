import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BackendLink } from './backend/backend-link';
import { BeatSocketLink } from './backend/beat-socket';
import { loadConfig, type AgentConfig } from './config';
import { AgentEvents } from './events/agent-events';
import { EventQueue } from './events/event-queue';
import { EventSender } from './events/event-sender';
import { HeartbeatSender } from './heartbeat/heartbeat-sender';
import { createIdentity, describeInstance, withPluginConfig, type BeatContent, type BeatIdentity } from './heartbeat/message';
import { AgentFarewell } from './lifecycle/agent-farewell';
import { installShutdownHooks } from './lifecycle/shutdown-hooks';
import { announce, describeError, listenToLog, logger } from './logger';
import { Instrumentation } from './plugins/instrumentation';
import type { ModuleHooks } from './plugins/module-hooks';
import { RuntimeMetrics } from './metrics/runtime-metrics';
import { HotPlugging } from './plugins/hot-plugging';
import { PluginControl } from './plugins/plugin-control';
import { loadPlugins, type PluginRecord } from './plugins/plugin-loader';
import { AgentConfigService } from './services/agent-config-service';
import { AgentHealthService } from './services/agent-health-service';
import { AgentHeartbeatService } from './services/agent-heartbeat-service';
import { ConfigService } from './services/config-service';
import { HealthService } from './services/health-service';
import { HeartbeatService } from './services/heartbeat-service';
import { registerService } from './services/service-manager';
import { AGENT_VERSION } from './version';

/** Longest the agent may delay the host's exit to say goodbye. */
const FAREWELL_BUDGET_MS = 200;

/** Longest wait between two attempts to open the beat socket (a backend or proxy without WebSockets). */
const SOCKET_RETRY_MAX_MS = 5 * 60_000;

/**
 * How long a beat waits for the beat socket being opened before it goes over HTTP: the first beat
 * travels on the socket, so a quiet agent makes no HTTP request (see BeatSocketLink).
 */
const SOCKET_OPEN_WAIT_MS = 2_000;

/** Most a full beat carries of queued events (as JSON); more go as batches. */
const MAX_BEAT_EVENT_BYTES = 16 * 1024;

/** Events kept while they cannot be sent; beyond that the least severe are dropped (and counted). */
const EVENT_QUEUE_CAPACITY = 200;

/**
 * How long after the agent starts its first beat leaves and its start line is written. The
 * beat socket's client (ws) and the logger (pino) load then, once a small service is up, instead of on
 * its start-up path; a beat interval later would leave the dashboard without the instance for
 * seconds.
 */
export const FIRST_BEAT_DELAY_MS = 100;

/**
 * Starts the agent in this process: config, events, services, plugins, module hooks, then
 * heartbeats. Synchronous up to the first beat, so plugins are in place before the application's
 * code loads; the first beat and the start line wait FIRST_BEAT_DELAY_MS, so that what they load
 * (ws, pino) stays off the host's start-up. Called once, by `register`.
 */
export function start(moduleHooks: ModuleHooks): void {
  const { config, file, warnings } = loadConfig({ env: process.env, cwd: process.cwd() });
  logger.level = config.logLevel;
  // The backend takes events only from instances it knows through their beats.
  const queue = config.eventsEnabled && config.heartbeatEnabled ? new EventQueue(EVENT_QUEUE_CAPACITY) : undefined;
  const events = new AgentEvents(queue);
  if (queue !== undefined) listenToLog((level, message, error) => events.recordLog(level, message, error));
  for (const warning of warnings) logger.warn(warning);

  const heartbeat = new AgentHeartbeatService(AGENT_VERSION);
  registerService(HeartbeatService, heartbeat);
  const health = new AgentHealthService(config.healthTimeoutMs);
  registerService(HealthService, health);
  const pluginConfig = startPluginConfig(file, events);
  const instrumentation = new Instrumentation({
    appRoot: process.cwd(),
    syncBuiltinExports: () => moduleHooks.syncBuiltinExports(),
  });
  // The plugins running, kept for uninstalls and upgrades at run time.
  const records = new Map<string, PluginRecord>();
  const plugins = loadPlugins({
    dir: config.pluginsDir,
    names: config.plugins,
    appRoot: process.cwd(),
    agentVersion: AGENT_VERSION,
    heartbeat,
    health,
    instrumentation,
    events,
    config: pluginConfig,
    records,
  });
  moduleHooks.watch(instrumentation.watched(), (loaded) => {
    // This runs inside the host's require/import: nothing may escape into it.
    try {
      instrumentation.onModuleLoaded(loaded);
    } catch (error) {
      logger.warn({ err: error }, `module ${loaded.module} could not be instrumented: ${describeError(error)}`);
    }
  });

  const identity = createIdentity(config, AGENT_VERSION);
  const hotPlugging = new HotPlugging({
    dir: config.pluginsDir,
    appRoot: process.cwd(),
    agentVersion: AGENT_VERSION,
    heartbeat,
    health,
    instrumentation,
    moduleHooks,
    events,
    records,
    settings: pluginConfig,
  });
  const control = new PluginControl(instrumentation, heartbeat, events, health, hotPlugging);
  const describe = () =>
    describeInstance(
      identity,
      withPluginConfig(heartbeat.collectPlugins(), (name) => pluginConfig.reportOf(name)),
      health.collect(),
    );
  const pluginNames = plugins.map((plugin) => plugin.name).join(',') || 'none';
  const backend = config.heartbeatEnabled ? config.backendUrls.join(',') : 'disabled';
  const started =
    `vigil agent ${AGENT_VERSION} started: service=${config.serviceName} instance=${identity.instanceId} ` +
    `backend=${backend} plugins=${pluginNames}`;
  const writeStartLine = deferStartLine(started);
  events.record('normal', 'agent.started', started, { version: AGENT_VERSION, plugins: pluginNames });
  connect({ config, identity, queue, events, describe, control, pluginConfig, writeStartLine });
}

/**
 * Plugins' settings (dynamic configuration): each plugin's settings file sits in `plugins` beside
 * config.properties; the backend's values come in beat replies (see connect).
 */
function startPluginConfig(configFile: string, events: AgentEvents): AgentConfigService {
  const service = new AgentConfigService({ events, settingsDir: path.join(path.dirname(configFile), 'plugins') });
  registerService(ConfigService, service);
  return service;
}

/**
 * Writes the start line FIRST_BEAT_DELAY_MS from now, or as the host ends if that is sooner (a
 * short-lived command still says the agent was there). Returns the write, which does nothing
 * once done.
 */
function deferStartLine(line: string): () => void {
  let pending = true;
  const write = (): void => {
    if (!pending) return;
    pending = false;
    clearTimeout(timer);
    process.removeListener('exit', write);
    try {
      announce(line);
    } catch {
      // The start line is worth less than the host's exit it may run in.
    }
  };
  const timer = setTimeout(write, FIRST_BEAT_DELAY_MS).unref();
  process.on('exit', write);
  return write;
}

/** Starts what talks to the backend (beats, and events when kept) and the goodbye at exit; nothing when beats are off. */
function connect(parts: {
  config: AgentConfig;
  identity: BeatIdentity;
  queue: EventQueue | undefined;
  events: AgentEvents;
  describe: () => BeatContent;
  control: PluginControl;
  /** Applies the plugins' configuration that beat replies deliver. */
  pluginConfig: AgentConfigService;
  /** Written before any goodbye, should the host end before the start line was. */
  writeStartLine: () => void;
}): void {
  const { config, identity, queue, events } = parts;
  if (!config.heartbeatEnabled) return;
  const credentials = { token: config.agentToken, ca: readCa(config.backendTlsCa) };
  // Events get a connection of their own: a batch stuck on a slow backend must never hold up a
  // beat queued behind it on the same connection (beats would time out unsent and the
  // instance would go lost while its agent is fine).
  const eventSender: EventSender | undefined =
    queue === undefined
      ? undefined
      : new EventSender({
          link: new BackendLink(config.backendUrls, {
            keepAliveMs: Math.round(config.eventSendIntervalMs * 1.5),
            ...credentials,
          }),
          queue,
          instanceId: identity.instanceId,
          intervalMs: config.eventSendIntervalMs,
          // (heartbeat is made below; this is called once events are due)
          instanceKnown: () => heartbeat.knownToBackend,
        });
  // Long enough for an idle connection to survive until the next (jittered) beat.
  const link = new BackendLink(config.backendUrls, {
    keepAliveMs: Math.round(config.heartbeatIntervalMs * 1.5),
    ...credentials,
  });
  // Sampling starts with the beats: each beat's figures cover the time since the one before.
  const metrics = config.metricsEnabled ? new RuntimeMetrics() : undefined;
  const heartbeat: HeartbeatSender = new HeartbeatSender({
    link:
      config.heartbeatTransport === 'websocket'
        ? new BeatSocketLink(link, {
            retryMinMs: config.heartbeatIntervalMs,
            retryMaxMs: SOCKET_RETRY_MAX_MS,
            openWaitMs: SOCKET_OPEN_WAIT_MS,
          })
        : link,
    instanceId: identity.instanceId,
    intervalMs: config.heartbeatIntervalMs,
    describe: parts.describe,
    ...(metrics !== undefined && { sampleMetrics: () => metrics.sample() }),
    onCommands: (commands) => void parts.control.apply(commands),
    onConfig: (deliveries) => void parts.pluginConfig.deliver(deliveries),
    // The first full beat carries the first events (agent.started...): a quiet agent then sends
    // no batch, no request on a second connection.
    events:
      queue === undefined
        ? undefined
        : {
            take: () => eventSender?.takeForBeat(MAX_BEAT_EVENT_BYTES),
            giveBack: (owed) => eventSender?.giveBack(owed),
          },
  });
  if (eventSender !== undefined) {
    events.onRecorded = () => eventSender.wake();
    eventSender.wake();
  }
  const farewell = new AgentFarewell({ events, heartbeat, eventSender });
  const { writeStartLine } = parts;
  installShutdownHooks({
    farewell: {
      run: (reason, budgetMs) => {
        writeStartLine();
        return farewell.run(reason, budgetMs);
      },
      runSync: (reason, budgetMs) => {
        writeStartLine();
        farewell.runSync(reason, budgetMs);
      },
    },
    budgetMs: FAREWELL_BUDGET_MS,
  });
  heartbeat.start(FIRST_BEAT_DELAY_MS);
}

/** The CA file's text; config checked it was readable, but it may have gone since: then the system's CAs, with a warning. */
function readCa(file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    logger.warn(`backend.tls.ca ${file} cannot be read (${describeError(error)}); verifying the backend with the system's CAs`);
    return undefined;
  }
}
