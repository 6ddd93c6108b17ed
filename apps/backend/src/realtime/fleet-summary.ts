import {
  INSTANCE_STATUSES,
  type FleetCounts,
  type Instance,
  type InstanceStatus,
  type PluginUsage,
  type ServiceSummary,
} from '@vigil/protocol';

/** What changed since the previous `takeChanges`, ready for a delta. */
export interface SummaryChanges {
  counts?: FleetCounts;
  services?: ServiceSummary[];
  plugins?: PluginUsage[];
}

function zeroByStatus(): Record<InstanceStatus, number> {
  return Object.fromEntries(INSTANCE_STATUSES.map((status) => [status, 0])) as Record<InstanceStatus, number>;
}

/** True when the change cannot move any count: a summary ignores everything but these fields. */
function sameCountedFields(a: Instance, b: Instance): boolean {
  return a.status === b.status && sameGrouping(a, b);
}

/** True when both count in the same service, app and plugin usage entries (the status aside). */
function sameGrouping(a: Instance, b: Instance): boolean {
  return (
    a.service === b.service &&
    a.appName === b.appName &&
    a.plugins.length === b.plugins.length &&
    a.plugins.every((plugin, i) => plugin.name === b.plugins[i]?.name && plugin.version === b.plugins[i]?.version)
  );
}

/**
 * Fleet-wide aggregates every dashboard shows: the overview counts, one entry per service (the
 * wallboard) and plugin x version x service usage (the plugins view). Kept up to date from each
 * instance change in O(plugins) instead of rescanning the fleet, so the cost does not grow with
 * its size; it also remembers which entries changed, so a delta carries only those.
 */
export class FleetSummary {
  private instances = 0;
  private readonly byStatus = zeroByStatus();
  /** App name -> instances, to count distinct apps. */
  private readonly apps = new Map<string, number>();
  private readonly services = new Map<string, ServiceSummary>();
  private readonly plugins = new Map<string, PluginUsage>();
  private countsChanged = false;
  private readonly changedServices = new Set<string>();
  /** Key -> the usage entry's identity, kept so a usage that dropped to zero can still be reported. */
  private readonly changedPlugins = new Map<string, Omit<PluginUsage, 'instances'>>();

  constructor(initial: Iterable<Instance>) {
    for (const instance of initial) this.add(instance, 1);
    this.takeChanges();
  }

  /** Applies one step of one instance: `before` leaves the counts, `after` enters them. */
  apply(before: Instance | undefined, after: Instance | undefined): void {
    if (before && after && sameCountedFields(before, after)) return;
    const service = before && after && sameGrouping(before, after) ? this.services.get(before.service) : undefined;
    if (before && after && service) {
      // Only the status moved (a transition: the common change): counts by status, nothing else.
      this.countsChanged = true;
      this.byStatus[before.status]--;
      this.byStatus[after.status]++;
      service.byStatus[before.status]--;
      service.byStatus[after.status]++;
      this.changedServices.add(before.service);
      return;
    }
    if (before) this.add(before, -1);
    if (after) this.add(after, 1);
  }

  counts(): FleetCounts {
    return { apps: this.apps.size, services: this.services.size, instances: this.instances, byStatus: { ...this.byStatus } };
  }

  serviceSummaries(): ServiceSummary[] {
    return Array.from(this.services.values(), (s) => ({ ...s, byStatus: { ...s.byStatus } }));
  }

  pluginUsage(): PluginUsage[] {
    return Array.from(this.plugins.values(), (p) => ({ ...p }));
  }

  /** The entries that changed since the previous call; a service or usage now at 0 instances is gone. */
  takeChanges(): SummaryChanges {
    const changes: SummaryChanges = {};
    if (this.countsChanged) changes.counts = this.counts();
    if (this.changedServices.size > 0) {
      changes.services = Array.from(
        this.changedServices,
        (service) => this.services.get(service) ?? { service, instances: 0, byStatus: zeroByStatus() },
      ).map((s) => ({ ...s, byStatus: { ...s.byStatus } }));
    }
    if (this.changedPlugins.size > 0) {
      changes.plugins = Array.from(this.changedPlugins, ([key, identity]) => ({
        ...identity,
        instances: this.plugins.get(key)?.instances ?? 0,
      }));
    }
    this.countsChanged = false;
    this.changedServices.clear();
    this.changedPlugins.clear();
    return changes;
  }

  private add(instance: Instance, sign: 1 | -1): void {
    this.countsChanged = true;
    this.instances += sign;
    this.byStatus[instance.status] += sign;
    bump(this.apps, instance.appName, sign);

    const service = this.services.get(instance.service) ?? { service: instance.service, instances: 0, byStatus: zeroByStatus() };
    service.instances += sign;
    service.byStatus[instance.status] += sign;
    if (service.instances === 0) this.services.delete(instance.service);
    else this.services.set(instance.service, service);
    this.changedServices.add(instance.service);

    for (const { name, version } of instance.plugins) {
      // JSON keeps the three parts apart whatever characters the names contain.
      const key = JSON.stringify([name, version, instance.service]);
      const usage = this.plugins.get(key) ?? { plugin: name, version, service: instance.service, instances: 0 };
      usage.instances += sign;
      if (usage.instances === 0) this.plugins.delete(key);
      else this.plugins.set(key, usage);
      this.changedPlugins.set(key, { plugin: name, version, service: instance.service });
    }
  }
}

function bump(counts: Map<string, number>, key: string, sign: 1 | -1): void {
  const next = (counts.get(key) ?? 0) + sign;
  if (next === 0) counts.delete(key);
  else counts.set(key, next);
}
