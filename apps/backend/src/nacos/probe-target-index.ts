import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Instance } from '@vigil/protocol';
import { InstanceRegistry } from '../instances/instance-registry.js';
import { probeKey, probeTargetOf } from './health-probes.js';
import { isNacosInstance } from './nacos-instance.js';

/**
 * The distinct probe targets of persistent instances, by host, kept in step with the registry's
 * changes (beats are not changes), so that a registration's admission is two map lookups.
 */
@Injectable()
export class ProbeTargetIndex implements OnModuleDestroy {
  /** Host -> probe key -> persistent instances with that target. */
  private readonly byHost = new Map<string, Map<string, number>>();
  /** Persistent instance id -> its host and probe key. */
  private readonly targetOf = new Map<string, { host: string; key: string }>();
  private readonly unsubscribe: () => void;

  constructor(registry: InstanceRegistry) {
    for (const instance of registry.list()) this.track(instance);
    this.unsubscribe = registry.onChange((change) => {
      if (change.type === 'upsert') this.track(change.instance);
      else if (change.type === 'removed') this.untrack(change.instanceId);
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }

  /** How many distinct targets are probed on this host. */
  targetCount(host: string): number {
    return this.byHost.get(host)?.size ?? 0;
  }

  has(host: string, key: string): boolean {
    return this.byHost.get(host)?.has(key) ?? false;
  }

  private track(instance: Instance): void {
    if (!isNacosInstance(instance) || instance.ephemeral) {
      this.untrack(instance.instanceId);
      return;
    }
    const host = instance.hostName;
    const key = probeKey(probeTargetOf(instance));
    const known = this.targetOf.get(instance.instanceId);
    if (known?.key === key && known.host === host) return;
    this.untrack(instance.instanceId);
    this.targetOf.set(instance.instanceId, { host, key });
    let keys = this.byHost.get(host);
    if (!keys) this.byHost.set(host, (keys = new Map()));
    keys.set(key, (keys.get(key) ?? 0) + 1);
  }

  private untrack(instanceId: string): void {
    const known = this.targetOf.get(instanceId);
    if (known === undefined) return;
    this.targetOf.delete(instanceId);
    const keys = this.byHost.get(known.host);
    const left = (keys?.get(known.key) ?? 1) - 1;
    if (left > 0) keys?.set(known.key, left);
    else keys?.delete(known.key);
    if (keys?.size === 0) this.byHost.delete(known.host);
  }
}
