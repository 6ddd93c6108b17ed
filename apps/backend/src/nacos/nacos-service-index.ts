import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Instance } from '@vigil/protocol';
import { InstanceRegistry } from '../instances/instance-registry.js';
import { groupedName, isNacosInstance, type NacosInstance, type ServiceRef } from './nacos-instance.js';

const keyOf = (ref: ServiceRef): string => `${ref.namespaceId}#${groupedName(ref)}`;

/**
 * The registry's Nacos instances grouped by service, kept in step with the registry's changes:
 * every Nacos client polls its services' instance lists every few seconds, and a poll should
 * read one service, not scan every instance.
 */
@Injectable()
export class NacosServiceIndex implements OnModuleDestroy {
  /** Service key -> ids of its instances. */
  private readonly services = new Map<string, Set<string>>();
  /** Instance id -> its service key. */
  private readonly serviceOf = new Map<string, string>();
  private readonly unsubscribe: () => void;

  constructor(private readonly registry: InstanceRegistry) {
    for (const instance of registry.list()) this.track(instance);
    this.unsubscribe = registry.onChange((change) => {
      if (change.type === 'upsert') this.track(change.instance);
      else if (change.type === 'removed') this.untrack(change.instanceId);
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }

  get serviceCount(): number {
    return this.services.size;
  }

  get instanceCount(): number {
    return this.serviceOf.size;
  }

  /** The instances of one service, current as the registry holds them. */
  instances(ref: ServiceRef): NacosInstance[] {
    const ids = this.services.get(keyOf(ref));
    if (!ids) return [];
    const instances: NacosInstance[] = [];
    for (const id of ids) {
      const instance = this.registry.get(id);
      if (isNacosInstance(instance)) instances.push(instance);
    }
    return instances;
  }

  /** Names (without group) of the services of one group that have instances, sorted. */
  serviceNames(namespaceId: string, groupName: string): string[] {
    const prefix = `${namespaceId}#${groupName}@@`;
    const names: string[] = [];
    for (const key of this.services.keys()) if (key.startsWith(prefix)) names.push(key.slice(prefix.length));
    return names.sort();
  }

  private track(instance: Instance): void {
    if (!isNacosInstance(instance)) {
      // An agent took over this id: it is no Nacos instance any more.
      this.untrack(instance.instanceId);
      return;
    }
    if (this.serviceOf.has(instance.instanceId)) return;
    const key = keyOf({ namespaceId: instance.nacos.namespaceId, groupName: instance.nacos.groupName, serviceName: instance.service });
    this.serviceOf.set(instance.instanceId, key);
    let ids = this.services.get(key);
    if (!ids) this.services.set(key, (ids = new Set()));
    ids.add(instance.instanceId);
  }

  private untrack(instanceId: string): void {
    const key = this.serviceOf.get(instanceId);
    if (key === undefined) return;
    this.serviceOf.delete(instanceId);
    const ids = this.services.get(key);
    ids?.delete(instanceId);
    if (ids?.size === 0) this.services.delete(key);
  }
}
