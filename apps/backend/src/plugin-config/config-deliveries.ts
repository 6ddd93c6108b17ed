import type { ConfigDelivery, Instance } from '@vigil/protocol';
import { effectiveValues, latestFor, type ConfigDocument } from './config-document.js';
import { valuesFor } from './config-validation.js';

/**
 * The configuration each instance is due, ready for its beat replies. Worked out when something
 * that decides it changes (a configuration, or the instance's last full beat: what it declares
 * and applied), never on the beat path: there, a fleet with nothing due costs a size check, and
 * an instance with nothing due one map lookup. An instance's deliveries stay until its full beat
 * reports the version applied or refused, so a reply that got lost is made good by the next one.
 */
export class ConfigDeliveries {
  private readonly due = new Map<string, ConfigDelivery[]>();

  /** What the instance's beat reply carries; undefined when nothing is due (nothing allocated). */
  for(instanceId: string): ConfigDelivery[] | undefined {
    if (this.due.size === 0) return undefined;
    return this.due.get(instanceId);
  }

  /** Instances with something due. */
  get size(): number {
    return this.due.size;
  }

  /** Sets what an instance is due (null or empty: nothing). */
  set(instanceId: string, deliveries: ConfigDelivery[] | null): void {
    if (deliveries && deliveries.length > 0) this.due.set(instanceId, deliveries);
    else this.due.delete(instanceId);
  }

  has(instanceId: string): boolean {
    return this.due.has(instanceId);
  }

  delete(instanceId: string): void {
    this.due.delete(instanceId);
  }
}

/**
 * What an instance is due, from the configurations of its service (by plugin): for each plugin
 * it runs that declares settings and has a configuration, the instance's effective version and
 * values (those of the settings it declares), unless its last full beat reported that version
 * applied, or refused (then it keeps what it has until a newer version comes). Null: nothing.
 */
export function dueFor(instance: Instance, documents: ReadonlyMap<string, ConfigDocument>): ConfigDelivery[] | null {
  let deliveries: ConfigDelivery[] | null = null;
  for (const plugin of instance.plugins) {
    if (plugin.settings === undefined) continue;
    const document = documents.get(plugin.name);
    if (!document) continue;
    const latest = latestFor(document, instance.instanceId);
    if (latest === null) continue;
    if ((plugin.configVersion ?? 0) === latest.version || plugin.configRejected === latest.version) continue;
    (deliveries ??= []).push({
      plugin: plugin.name,
      version: latest.version,
      values: valuesFor(effectiveValues(document, instance.instanceId), plugin.settings),
    });
  }
  return deliveries;
}
