import { BadRequestException, NotFoundException } from '@nestjs/common';
import { BULK_COMMAND_MAX_INSTANCES, type BulkPluginCommand, type Instance, type PluginCommand } from '@vigil/protocol';

/**
 * Which instances a plugin command may go to, or the refusal naming the field. A command goes
 * to an agent's instance (not one registered through Nacos); every type but `plugin.install`
 * needs the plugin loaded there (installing over a loaded plugin is the agent's upgrade). A bulk
 * command is all or nothing: one bad id refuses the whole request, listing every bad id.
 */
export interface CommandTargets {
  instances: Instance[];
  /** The request field that names the instance at `index` (for the refusals that come later). */
  field(index: number): string;
}

/** Only install and upgrade take a version. */
export function checkVersion(type: PluginCommand['type'], version: string | undefined): void {
  if (version !== undefined && type !== 'plugin.install' && type !== 'plugin.upgrade') {
    throw new BadRequestException({ error: 'invalid body', issues: [`version: only install and upgrade take a version, not ${type}`] });
  }
}

const needsPlugin = (type: PluginCommand['type']) => type !== 'plugin.install';
const runs = (instance: Instance, plugin: string) => instance.plugins.some((p) => p.name === plugin);

/** One instance, by id (`POST /api/v1/instances/:id/plugins/:plugin/...`). */
export function instanceTarget(instance: Instance | undefined, id: string, plugin: string, type: PluginCommand['type']): CommandTargets {
  if (!instance) throw new NotFoundException({ error: 'unknown instance', issues: [`id: no instance ${id}`] });
  if (instance.source !== 'agent') {
    throw new BadRequestException({ error: 'not an agent', issues: [`id: ${id} was registered through Nacos; it has no plugins`] });
  }
  if (needsPlugin(type) && !runs(instance, plugin)) {
    throw new NotFoundException({ error: 'unknown plugin', issues: [`plugin: ${plugin} is not loaded on ${id}`] });
  }
  return { instances: [instance], field: () => 'id' };
}

/** A service's live instances, or a list of ids (`POST /api/v1/plugins/:plugin/...`). */
export function bulkTargets(
  lookup: { get(id: string): Instance | undefined; list(): Instance[] },
  body: BulkPluginCommand,
  plugin: string,
  type: PluginCommand['type'],
): CommandTargets {
  if (body.service !== undefined) {
    const service = body.service;
    const live = lookup
      .list()
      .filter((i) => i.service === service && i.source === 'agent' && i.status !== 'lost' && i.status !== 'offline');
    const instances = needsPlugin(type) ? live.filter((i) => runs(i, plugin)) : live;
    if (instances.length === 0) {
      const why = live.length === 0 ? `has no live agent instance` : `has no live instance running ${plugin}`;
      throw new NotFoundException({ error: 'no instances', issues: [`service: ${service} ${why}`] });
    }
    if (instances.length > BULK_COMMAND_MAX_INSTANCES) {
      throw new BadRequestException({
        error: 'too many instances',
        issues: [
          `service: ${service} has ${instances.length} live instances, more than the ${BULK_COMMAND_MAX_INSTANCES} one command may address: send instanceIds in batches`,
        ],
      });
    }
    return { instances, field: () => 'service' };
  }
  const ids = body.instanceIds ?? [];
  const found = ids.map((id) => lookup.get(id));
  const unknown = ids.flatMap((id, i) => (found[i] ? [] : [`instanceIds.${i}: no instance ${id}`]));
  if (unknown.length > 0) throw new NotFoundException({ error: 'unknown instances', issues: unknown });
  const instances = found as Instance[];
  const nacos = instances.flatMap((instance, i) =>
    instance.source === 'agent' ? [] : [`instanceIds.${i}: ${instance.instanceId} was registered through Nacos; it has no plugins`],
  );
  if (nacos.length > 0) throw new BadRequestException({ error: 'not an agent', issues: nacos });
  if (needsPlugin(type)) {
    const without = instances.flatMap((instance, i) =>
      runs(instance, plugin) ? [] : [`instanceIds.${i}: ${plugin} is not loaded on ${instance.instanceId}`],
    );
    if (without.length > 0) throw new NotFoundException({ error: 'unknown plugin', issues: without });
  }
  return { instances, field: (index) => `instanceIds.${index}` };
}
