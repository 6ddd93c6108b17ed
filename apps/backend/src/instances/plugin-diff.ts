import type { Instance, PluginInfo } from '@vigil/protocol';
import type { ExtInfoChangeRate } from './ext-info-change-rate.js';
import type { RegistryEvent } from './registry-events.js';

/** How one plugin differs between two full beats of an instance. */
export type PluginDiff =
  | { kind: 'installed'; plugin: PluginInfo }
  | { kind: 'upgraded'; plugin: PluginInfo; from: string }
  | { kind: 'ext-info-changed'; plugin: PluginInfo }
  | { kind: 'removed'; plugin: PluginInfo };

/**
 * The plugins `after` installed, upgraded or changed the ext-info of (in its order), then the
 * ones it no longer has. Matched by name; pure, so the event wording below is tested apart.
 */
export function diffPlugins(before: readonly PluginInfo[], after: readonly PluginInfo[]): PluginDiff[] {
  const gone = new Map(before.map((p) => [p.name, p]));
  const diffs: PluginDiff[] = [];
  for (const plugin of after) {
    const old = gone.get(plugin.name);
    gone.delete(plugin.name);
    if (!old) diffs.push({ kind: 'installed', plugin });
    else if (old.version !== plugin.version) diffs.push({ kind: 'upgraded', plugin, from: old.version });
    else if (JSON.stringify(old.extInfo) !== JSON.stringify(plugin.extInfo)) diffs.push({ kind: 'ext-info-changed', plugin });
  }
  for (const plugin of gone.values()) diffs.push({ kind: 'removed', plugin });
  return diffs;
}

/**
 * The events a changed full beat logs about the instance's plugins. An ext-info change goes
 * through the instance's change rate first: a plugin reporting a counter changes it every beat,
 * and is logged a few times, then once a minute with the number of changes it stands for.
 */
export function pluginEvents(previous: Instance, plugins: readonly PluginInfo[], now: number, rate: ExtInfoChangeRate): RegistryEvent[] {
  const events: RegistryEvent[] = [];
  for (const diff of diffPlugins(previous.plugins, plugins)) {
    const { plugin } = diff;
    const attributes = { plugin: plugin.name, version: plugin.version };
    const event = (type: string, message: string, attrs: Record<string, string> = attributes) =>
      events.push({ time: now, level: 'normal', type, message, instance: previous, attributes: attrs });
    switch (diff.kind) {
      case 'installed':
        event('plugin.installed', `${plugin.name} ${plugin.version} installed`);
        break;
      case 'upgraded':
        event('plugin.upgraded', `${plugin.name} ${diff.from} -> ${plugin.version}`, { ...attributes, from: diff.from });
        break;
      case 'removed':
        event('plugin.removed', `${plugin.name} ${plugin.version} removed`);
        break;
      case 'ext-info-changed': {
        const changes = rate.admit(previous.instanceId, plugin.name, now);
        if (changes === 0) break;
        const info =
          Object.entries(plugin.extInfo)
            .map(([k, v]) => `${k}=${v}`)
            .join(', ') || '(empty)';
        event(
          'plugin.ext-info-changed',
          `${plugin.name}: ${info}${changes > 1 ? ` (${changes} changes)` : ''}`,
          changes > 1 ? { ...attributes, changes: String(changes) } : attributes,
        );
        break;
      }
    }
  }
  return events;
}
