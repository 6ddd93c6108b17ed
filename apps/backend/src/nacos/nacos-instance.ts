import { isIP } from 'node:net';
import { DEFAULT_HEARTBEAT_INTERVAL_MS, type Instance, type InstanceStatus } from '@vigil/protocol';
import type { InstanceInput } from '../instances/instance-registry.js';
import type { Timings } from '../instances/timings.js';

/** Nacos's defaults for omitted coordinates. */
export const DEFAULT_NAMESPACE = 'public';
export const DEFAULT_GROUP = 'DEFAULT_GROUP';
export const DEFAULT_CLUSTER = 'DEFAULT';

/** A service as Nacos names it: namespace, group and name (stored by Nacos as `group@@name`). */
export interface ServiceRef {
  namespaceId: string;
  groupName: string;
  serviceName: string;
}

/** What identifies one Nacos instance. */
export interface InstanceAddress extends ServiceRef {
  clusterName: string;
  /** An IP address or a host name: Nacos accepts both. */
  ip: string;
  port: number;
}

/** Everything a register call (or a beat that re-registers) says about an instance. */
export interface InstanceSpec extends InstanceAddress {
  weight: number;
  enabled: boolean;
  ephemeral: boolean;
  metadata: Record<string, string>;
}

/** A registry instance that came through the Nacos API. */
export type NacosInstance = Instance & { nacos: NonNullable<Instance['nacos']> };

/** One entry of `hosts` in an instance list: Nacos 1.x's fields plus the timing fields 2.x added. */
export interface NacosHost {
  instanceId: string;
  ip: string;
  port: number;
  weight: number;
  healthy: boolean;
  enabled: boolean;
  ephemeral: boolean;
  clusterName: string;
  serviceName: string;
  metadata: Record<string, string>;
  valid: boolean;
  marked: boolean;
  instanceHeartBeatInterval: number;
  instanceHeartBeatTimeOut: number;
  ipDeleteTimeout: number;
}

export const groupedName = (ref: Pick<ServiceRef, 'groupName' | 'serviceName'>): string => `${ref.groupName}@@${ref.serviceName}`;

/** Nacos's own instance id: `ip#port#cluster#group@@name`. */
export const nacosInstanceId = (a: InstanceAddress): string => `${a.ip}#${a.port}#${a.clusterName}#${groupedName(a)}`;

/**
 * The registry's id for a Nacos instance. Nacos's id is unique only within a namespace while the
 * registry's ids are global, so outside `public` the namespace is put in front (`dev#ip#port#...`);
 * no coordinate can contain `#`, so the two forms never collide.
 */
export const registryId = (a: InstanceAddress): string =>
  a.namespaceId === DEFAULT_NAMESPACE ? nacosInstanceId(a) : `${a.namespaceId}#${nacosInstanceId(a)}`;

export const isNacosInstance = (instance: Instance | undefined): instance is NacosInstance =>
  instance?.source === 'nacos' && instance.nacos !== undefined;

/**
 * Healthy in Nacos's sense. `suspect` counts as healthy: it means one beat is overdue, and Nacos
 * keeps serving an instance until its whole beat timeout has passed, which is Vigil's `lost`.
 */
export const isNacosHealthy = (status: InstanceStatus): boolean => status === 'healthy' || status === 'suspect';

/** The registry's view of a Nacos instance: shown on the dashboard like an agent's. */
export function toInstanceInput(spec: InstanceSpec): InstanceInput {
  return {
    instanceId: registryId(spec),
    source: 'nacos',
    service: spec.serviceName,
    appName: spec.groupName,
    artifact: spec.serviceName,
    appType: 'nacos',
    hostName: spec.ip,
    // Vigil's `ip` holds addresses only; an instance registered by host name keeps it in hostName.
    ip: isIP(spec.ip) ? [spec.ip] : [],
    processId: null,
    dynamicInstall: false,
    version: 'nacos-v1',
    plugins: [],
    metadata: spec.metadata,
    ephemeral: spec.ephemeral,
    nacos: {
      namespaceId: spec.namespaceId,
      groupName: spec.groupName,
      clusterName: spec.clusterName,
      port: spec.port,
      weight: spec.weight,
      enabled: spec.enabled,
    },
  };
}

/** The Nacos address of a registry instance (hostName holds the `ip` it was registered with). */
export function addressOf(instance: NacosInstance): InstanceAddress {
  const { namespaceId, groupName, clusterName, port } = instance.nacos;
  return { namespaceId, groupName, serviceName: instance.service, clusterName, ip: instance.hostName, port };
}

/** An instance as Nacos lists it; `timings` are the instance's own (metadata over global defaults). */
export function toHost(instance: NacosInstance, timings: Timings): NacosHost {
  const address = addressOf(instance);
  const healthy = isNacosHealthy(instance.status);
  return {
    instanceId: nacosInstanceId(address),
    ip: address.ip,
    port: address.port,
    weight: instance.nacos.weight,
    healthy,
    enabled: instance.nacos.enabled,
    ephemeral: instance.ephemeral,
    clusterName: address.clusterName,
    serviceName: groupedName(address),
    metadata: instance.metadata,
    valid: healthy,
    marked: false,
    instanceHeartBeatInterval: timings.intervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
    instanceHeartBeatTimeOut: timings.lostAfterMs,
    ipDeleteTimeout: timings.removeAfterMs,
  };
}
