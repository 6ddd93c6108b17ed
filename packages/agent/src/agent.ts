import { loadConfig } from './config';
import { BeatClient } from './heartbeat/beat-client';
import { HeartbeatSender } from './heartbeat/heartbeat-sender';
import { createIdentity, describeInstance } from './heartbeat/message';
import { announce, logger } from './logger';
import { loadPlugins, type ModuleLoader } from './plugins/plugin-loader';
import { AgentHeartbeatService } from './services/agent-heartbeat-service';
import { HeartbeatService } from './services/heartbeat-service';
import { registerService } from './services/service-manager';
import { AGENT_VERSION } from './version';

/** Upper bound of one beat's deadline; shorter intervals use the interval. */
const MAX_BEAT_TIMEOUT_MS = 10_000;

/**
 * Starts the agent in this process: config, services, plugins, then heartbeats. Synchronous up to
 * the first beat, so plugins are in place before the application's code loads. Called once, by
 * `register`.
 */
export function start(loadModule: ModuleLoader): void {
  const { config, warnings } = loadConfig({ env: process.env, cwd: process.cwd() });
  logger.level = config.logLevel;
  for (const warning of warnings) logger.warn(warning);

  const heartbeat = new AgentHeartbeatService(AGENT_VERSION);
  registerService(HeartbeatService, heartbeat);
  const plugins = loadPlugins({ dir: config.pluginsDir, folders: config.plugins, loadModule, heartbeat });

  const identity = createIdentity(config, AGENT_VERSION);
  // The backend list is kept for failover later; for now beats go to the first URL.
  const backendUrl = config.backendUrls[0];
  if (config.heartbeatEnabled) {
    const intervalMs = config.heartbeatIntervalMs;
    new HeartbeatSender({
      transport: new BeatClient(backendUrl, {
        timeoutMs: Math.min(intervalMs, MAX_BEAT_TIMEOUT_MS),
        // Long enough for the idle connection to survive until the next (jittered) beat.
        keepAliveMs: Math.round(intervalMs * 1.5),
      }),
      intervalMs,
      describe: () => describeInstance(identity, heartbeat.collectPlugins()),
      backendUrl,
    }).start();
  }

  const pluginNames = plugins.map((plugin) => plugin.name).join(',') || 'none';
  const backend = config.heartbeatEnabled ? backendUrl : 'disabled';
  announce(
    `vigil agent ${AGENT_VERSION} started: service=${config.serviceName} instance=${identity.instanceId} backend=${backend} plugins=${pluginNames}`,
  );
}
