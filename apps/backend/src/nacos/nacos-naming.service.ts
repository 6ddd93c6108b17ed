import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DEFAULT_HEARTBEAT_INTERVAL_MS } from '@vigil/protocol';
import { inScope } from '../access/access.hooks.js';
import type { AgentScope } from '../access/credentials.js';
import { CLOCK, type Clock } from '../common/clock.js';
import { BeatRateLimiter } from '../heartbeats/beat-rate-limit.js';
import { VIGIL_CONFIG, type VigilConfig } from '../config/vigil-config.js';
import { InstanceAdmission, instanceBytes, type Client } from '../instances/instance-admission.js';
import { InstanceRegistry, type InstanceInput } from '../instances/instance-registry.js';
import { registryOptions } from '../instances/registry.module.js';
import { timingsOf, type Timings } from '../instances/timings.js';
import { HostLoad, type HostLoadSample } from './host-load.js';
import {
  groupedName,
  isNacosHealthy,
  isNacosInstance,
  nacosInstanceId,
  registryId,
  toHost,
  toInstanceInput,
  type InstanceAddress,
  type InstanceSpec,
  type NacosHost,
  type NacosInstance,
} from './nacos-instance.js';
import { NacosError, type BeatRequest, type ListQuery, type ServicePage } from './nacos-params.js';
import { NacosServiceIndex } from './nacos-service-index.js';

/** Nacos's NamingResponseCode values in a beat answer. */
export const BEAT_OK = 10200;
export const BEAT_UNKNOWN_INSTANCE = 20404;

/**
 * How long clients may cache an instance list. Nacos answers 3 s to clients it cannot push to;
 * Vigil never pushes (no UDP), so clients poll at this period.
 */
export const CACHE_MILLIS = 3_000;

export type BeatAnswer =
  | { clientBeatInterval: number; code: typeof BEAT_OK; lightBeatEnabled: boolean }
  /** As Nacos: no `lightBeatEnabled`, so the client's next beat carries its body again. */
  | { clientBeatInterval: number; code: typeof BEAT_UNKNOWN_INSTANCE };

export interface InstanceListAnswer {
  name: string;
  groupName: string;
  clusters: string;
  cacheMillis: number;
  lastRefTime: number;
  checksum: string;
  hosts: NacosHost[];
  /** Nacos 1.x's name for `name`. */
  dom: string;
  allIPs: boolean;
  reachProtectionThreshold: boolean;
}

export interface InstanceDetailAnswer {
  service: string;
  ip: string;
  port: number;
  clusterName: string;
  weight: number;
  healthy: boolean;
  instanceId: string;
  metadata: Record<string, string>;
}

export type MetricsAnswer =
  | { status: 'UP' }
  | ({
      status: 'UP';
      serviceCount: number;
      instanceCount: number;
      responsibleServiceCount: number;
      responsibleInstanceCount: number;
    } & HostLoadSample);

/** Nacos's naming operations on Vigil's registry. Parameters arrive parsed (nacos-params.ts). */
@Injectable()
export class NacosNamingService {
  private readonly defaults: Timings;
  private readonly hostLoad = new HostLoad();
  private readonly limiter = new BeatRateLimiter();

  constructor(
    private readonly registry: InstanceRegistry,
    private readonly index: NacosServiceIndex,
    @Inject(VIGIL_CONFIG) config: VigilConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly admission: InstanceAdmission,
  ) {
    this.defaults = registryOptions(config).timings;
  }

  /** Registers or updates an instance for `client` (its token or address, for quotas); registering a known one renews it, as in Nacos. */
  register(spec: InstanceSpec, client?: Client): void {
    const now = this.clock.now();
    this.registry.upsert(this.admitted(spec, client, now), now);
  }

  /** Removes an instance at once; an unknown one is fine (Nacos answers `ok` too). */
  deregister(address: InstanceAddress): void {
    const id = registryId(address);
    if (isNacosInstance(this.registry.get(id))) this.registry.remove(id, this.clock.now());
  }

  /**
   * Renews a known instance. An unknown one is registered again from a full beat's body, and
   * answered 20404 after a light beat, which makes the client register it again.
   */
  beat(request: BeatRequest, client?: Client): BeatAnswer {
    const now = this.clock.now();
    const id = registryId(request.address);
    // As for agents: an instance beating far faster than its interval (Nacos #4449) is refused.
    const slower = this.limiter.take(id, this.registry.configuredInterval(id), now, this.registry.lostAfter(id));
    if (slower !== null) throw new NacosError(429, `too many beats for ${id}: beat every ${slower} ms (clientBeatInterval)`);
    const known = isNacosInstance(this.registry.get(id)) && this.registry.renewById(id, now);
    if (!known) {
      if (!request.register)
        return { clientBeatInterval: this.defaults.intervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS, code: BEAT_UNKNOWN_INSTANCE };
      this.registry.upsert(this.admitted(request.register, client, now), now);
    }
    return {
      clientBeatInterval: this.registry.configuredInterval(id) ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
      code: BEAT_OK,
      lightBeatEnabled: true,
    };
  }

  /** The instance a register describes, once the admission check (instance-admission.ts) let it in; else its refusal. */
  private admitted(spec: InstanceSpec, client: Client | undefined, now: number): InstanceInput {
    const input = toInstanceInput(spec);
    const refusal = this.admission.admit(
      input.instanceId,
      this.registry.get(input.instanceId) !== undefined,
      instanceBytes(input.plugins, input.metadata),
      client,
      now,
    );
    if (refusal !== null) throw new NacosError(refusal.status, refusal.body.message);
    return input;
  }

  /** The enabled instances of a service, in the requested clusters (all when none is named). */
  list(query: ListQuery): InstanceListAnswer {
    const wanted = new Set(
      query.clusters
        .split(',')
        .map((c) => c.trim())
        .filter(Boolean),
    );
    const hosts = this.index
      .instances(query.service)
      .filter((i) => i.nacos.enabled && (wanted.size === 0 || wanted.has(i.nacos.clusterName)))
      .map((i) => toHost(i, timingsOf(i.metadata, this.defaults)))
      .filter((host) => host.healthy || !query.healthyOnly)
      .sort((a, b) => (a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0));
    const name = groupedName(query.service);
    return {
      name,
      groupName: query.service.groupName,
      clusters: query.clusters,
      cacheMillis: CACHE_MILLIS,
      lastRefTime: this.clock.now(),
      checksum: checksumOf(hosts),
      hosts,
      dom: name,
      allIPs: false,
      reachProtectionThreshold: false,
    };
  }

  /** One instance, or 404 with Nacos's messages. */
  detail(address: InstanceAddress): InstanceDetailAnswer {
    const name = groupedName(address);
    const inService = this.index.instances(address);
    if (inService.length === 0) throw new NacosError(404, `no service ${name} found!`);
    if (!inService.some((i) => i.nacos.clusterName === address.clusterName)) {
      throw new NacosError(404, `no ips found for cluster ${address.clusterName} in service ${name}`);
    }
    const instance = this.registry.get(registryId(address));
    if (!isNacosInstance(instance)) throw new NacosError(404, 'no matched ip found!');
    return detailOf(instance, address);
  }

  /** A page of a group's service names within a token's scope, sorted, and how many there are in all. */
  services(page: ServicePage, scope?: AgentScope): { count: number; doms: string[] } {
    const all = this.index.serviceNames(page.namespaceId, page.groupName);
    const names = scope === undefined ? all : all.filter((name) => inScope(scope, name));
    const start = (page.pageNo - 1) * page.pageSize;
    return { count: names.length, doms: names.slice(start, start + page.pageSize) };
  }

  metrics(onlyStatus: boolean): MetricsAnswer {
    if (onlyStatus) return { status: 'UP' };
    const services = this.index.serviceCount;
    const instances = this.index.instanceCount;
    // One node answers for everything: what it is responsible for is all there is.
    return {
      status: 'UP',
      serviceCount: services,
      instanceCount: instances,
      responsibleServiceCount: services,
      responsibleInstanceCount: instances,
      ...this.hostLoad.sample(),
    };
  }
}

function detailOf(instance: NacosInstance, address: InstanceAddress): InstanceDetailAnswer {
  return {
    service: groupedName(address),
    ip: address.ip,
    port: address.port,
    clusterName: address.clusterName,
    weight: instance.nacos.weight,
    healthy: isNacosHealthy(instance.status),
    instanceId: nacosInstanceId(address),
    metadata: instance.metadata,
  };
}

/** Changes whenever a host, its health or its weight does; clients compare it between polls. */
function checksumOf(hosts: readonly NacosHost[]): string {
  const hash = createHash('md5');
  for (const h of hosts) hash.update(`${h.instanceId}_${h.weight}_${h.healthy}_${h.enabled}\n`);
  return hash.digest('hex');
}
