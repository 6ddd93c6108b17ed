import type { Instance } from '@vigil/protocol';

export interface InstanceSummary {
  total: number;
  healthy: number;
  lost: number;
  /** Distinct service names. */
  services: number;
  /** Distinct application names. */
  apps: number;
}

export function summarizeInstances(instances: readonly Instance[]): InstanceSummary {
  const services = new Set<string>();
  const apps = new Set<string>();
  let healthy = 0;
  for (const instance of instances) {
    if (instance.status === 'healthy') healthy++;
    services.add(instance.service);
    apps.add(instance.appName);
  }
  return {
    total: instances.length,
    healthy,
    lost: instances.length - healthy,
    services: services.size,
    apps: apps.size,
  };
}
