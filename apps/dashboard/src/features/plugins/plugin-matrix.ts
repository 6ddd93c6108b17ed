import type { PluginUsage } from '@vigil/protocol';

export interface PluginMatrix {
  plugin: string;
  /** Every version of the plugin running somewhere, oldest first. */
  versions: string[];
  /** One row per service: instances per version. */
  services: { service: string; byVersion: Record<string, number>; total: number }[];
  /** Instances per version across the fleet. */
  totals: Record<string, number>;
  /** More than one version runs: the fleet has drifted. */
  drift: boolean;
}

const collator = new Intl.Collator('en', { numeric: true });

/** Plugin x version -> instances, per service: where each version of each plugin runs. */
export function pluginMatrices(usages: readonly PluginUsage[]): PluginMatrix[] {
  const byPlugin = new Map<string, PluginUsage[]>();
  for (const usage of usages) byPlugin.set(usage.plugin, [...(byPlugin.get(usage.plugin) ?? []), usage]);
  return [...byPlugin]
    .map(([plugin, entries]) => {
      const versions = [...new Set(entries.map((e) => e.version))].sort(collator.compare);
      const services = new Map<string, { service: string; byVersion: Record<string, number>; total: number }>();
      const totals: Record<string, number> = {};
      for (const { service, version, instances } of entries) {
        const row = services.get(service) ?? { service, byVersion: {}, total: 0 };
        row.byVersion[version] = (row.byVersion[version] ?? 0) + instances;
        row.total += instances;
        services.set(service, row);
        totals[version] = (totals[version] ?? 0) + instances;
      }
      return {
        plugin,
        versions,
        services: [...services.values()].sort((a, b) => collator.compare(a.service, b.service)),
        totals,
        drift: versions.length > 1,
      };
    })
    .sort((a, b) => Number(b.drift) - Number(a.drift) || collator.compare(a.plugin, b.plugin));
}
