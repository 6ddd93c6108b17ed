import type { Instance } from '@vigil/protocol';

export interface InstanceSummary {
  total: number;
  healthy: number;
  suspect: number;
  lost: number;
  offline: number;
  unhealthy: number;
  /** Distinct service names. */
  services: number;
  /** Distinct application names. */
  apps: number;
}

export function summarizeInstances(instances: readonly Instance[]): InstanceSummary {
  const services = new Set<string>();
  const apps = new Set<string>();
  const byStatus: Record<Instance['status'], number> = { healthy: 0, suspect: 0, lost: 0, offline: 0, unhealthy: 0 };
  for (const instance of instances) {
    byStatus[instance.status]++;
    services.add(instance.service);
    apps.add(instance.appName);
  }
  return {
    total: instances.length,
    ...byStatus,
    services: services.size,
    apps: apps.size,
  };
}
