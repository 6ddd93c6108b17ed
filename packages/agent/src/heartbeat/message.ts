import { randomUUID } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';
import { LIMITS, PROTOCOL_VERSION } from '../protocol';
import type { BeatMetrics, FullBeat, GoodbyeBeat, HealthReport, LightBeat, PluginInfo } from '../protocol';
import type { AgentConfig } from '../config';

/**
 * A full beat without its times and metrics: what must be unchanged for a light beat to be enough
 * (identity, host, plugins and their ext-info, health). Metrics change every beat, and every beat
 * carries them, light ones too.
 */
export type BeatContent = Omit<FullBeat, 'v' | 'kind' | 'heartbeatTime' | 'lastHeartbeatTime' | 'metrics'>;

/** The part of the content fixed for the agent's lifetime. */
export type BeatIdentity = Omit<BeatContent, 'hostName' | 'ip' | 'plugins' | 'health'>;

export interface BeatTimes {
  heartbeatTime: number;
  /** heartbeatTime of the previous beat sent; null on the first. */
  lastHeartbeatTime: number | null;
}

/** The identity of this agent run; a new instanceId at every start, as in Sermant. */
export function createIdentity(config: AgentConfig, agentVersion: string): BeatIdentity {
  return {
    instanceId: randomUUID(),
    service: config.serviceName,
    appName: config.appName,
    artifact: config.artifact,
    appType: config.appType,
    processId: process.pid,
    // The agent is attached with --import/--require at process start, never injected later.
    dynamicInstall: false,
    version: agentVersion,
  };
}

/**
 * The current content: host name and addresses are re-read every time, since both can change;
 * `health` is there once some indicator answered.
 */
export function describeInstance(identity: BeatIdentity, plugins: PluginInfo[], health?: HealthReport): BeatContent {
  return {
    ...identity,
    hostName: hostname().slice(0, LIMITS.hostNameLength),
    ip: ipv4Addresses(),
    plugins,
    ...(health !== undefined && { health }),
  };
}

/** What a plugin's entry says of its configuration: the settings it declares, the versions it applied and refused. */
export type PluginConfigReport = Pick<PluginInfo, 'settings' | 'configVersion' | 'configRejected'>;

/**
 * The plugins' entries with what each reports of its configuration (none for a plugin without
 * settings). Part of the content, so a version applied or refused makes the next beat a full one.
 */
export function withPluginConfig(plugins: PluginInfo[], reportOf: (plugin: string) => PluginConfigReport | undefined): PluginInfo[] {
  return plugins.map((plugin) => {
    const report = reportOf(plugin.name);
    return report === undefined ? plugin : { ...plugin, ...report };
  });
}

/** A full beat; with `events`, carrying the agent's queued events (see BeatEvents); with `metrics`, this beat's sample. */
export function toFullBeat(
  content: BeatContent,
  times: BeatTimes,
  events?: Pick<FullBeat, 'events' | 'dropped'>,
  metrics?: BeatMetrics,
): FullBeat {
  return {
    v: PROTOCOL_VERSION,
    kind: 'full',
    ...times,
    ...content,
    ...(events !== undefined && { events: events.events, dropped: events.dropped }),
    ...(metrics !== undefined && { metrics }),
  };
}

/** A light beat: the instance, the times, and this beat's metrics sample when metrics are on. */
export function toLightBeat(instanceId: string, times: BeatTimes, metrics?: BeatMetrics): LightBeat {
  return { v: PROTOCOL_VERSION, kind: 'light', instanceId, ...times, ...(metrics !== undefined && { metrics }) };
}

export function toGoodbyeBeat(instanceId: string, times: BeatTimes): GoodbyeBeat {
  return { v: PROTOCOL_VERSION, kind: 'goodbye', instanceId, ...times };
}

/** Every non-internal IPv4 address of the host, once each. */
function ipv4Addresses(): string[] {
  const addresses = new Set<string>();
  for (const entries of Object.values(networkInterfaces())) {
    for (const entry of entries ?? []) {
      if (entry.family === 'IPv4' && !entry.internal) addresses.add(entry.address);
    }
  }
  return [...addresses].slice(0, LIMITS.ips);
}
