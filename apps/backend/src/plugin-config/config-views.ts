import type { AppliedConfig, Instance, PluginConfig } from '@vigil/protocol';
import { effectiveValues, latestFor, type ConfigDocument } from './config-document.js';
import { declaredSettings } from './config-validation.js';

/**
 * The API's answers, built from a document (undefined: never set) and the instances' last full
 * beats. Pure: the service passes both in.
 */

/** The service's values, and every instance of it running the plugin with what it applied. */
export function serviceView(service: string, plugin: string, document: ConfigDocument | undefined, instances: Instance[]): PluginConfig {
  const base = document?.base ?? null;
  const values = base?.values ?? {};
  return {
    service,
    plugin,
    instanceId: null,
    version: base?.version ?? 0,
    values,
    effective: values,
    settings: declaredSettings(instances, plugin).settings,
    updatedAt: base?.updatedAt ?? null,
    updatedBy: base?.updatedBy ?? null,
    applied: instances.map((instance) => appliedOf(instance, plugin, document)),
  };
}

/** One instance's overrides, the values it runs with, and what it applied. */
export function instanceView(instance: Instance, plugin: string, document: ConfigDocument | undefined): PluginConfig {
  const latest = document ? latestFor(document, instance.instanceId) : null;
  return {
    service: instance.service,
    plugin,
    instanceId: instance.instanceId,
    version: latest?.version ?? 0,
    values: document?.overrides[instance.instanceId]?.values ?? {},
    effective: document ? effectiveValues(document, instance.instanceId) : {},
    settings: declaredSettings([instance], plugin).settings,
    updatedAt: latest?.updatedAt ?? null,
    updatedBy: latest?.updatedBy ?? null,
    applied: [appliedOf(instance, plugin, document)],
  };
}

/** The instances of a service whose last full beat lists the plugin. */
export function running(instances: Iterable<Instance>, service: string, plugin: string): Instance[] {
  const found: Instance[] = [];
  for (const instance of instances) if (instance.service === service && runs(instance, plugin)) found.push(instance);
  return found;
}

export function runs(instance: Instance, plugin: string): boolean {
  return instance.plugins.some((p) => p.name === plugin);
}

function appliedOf(instance: Instance, plugin: string, document: ConfigDocument | undefined): AppliedConfig {
  const reported = instance.plugins.find((p) => p.name === plugin);
  return {
    instanceId: instance.instanceId,
    version: reported?.configVersion ?? 0,
    rejected: reported?.configRejected ?? null,
    target: (document && latestFor(document, instance.instanceId)?.version) ?? 0,
  };
}
