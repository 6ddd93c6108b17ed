import type { InstanceStatus, ServiceSummary } from '@vigil/protocol';

/**
 * Worst first. `offline` ranks below the alarms: its instances said goodbye (a deploy, a scale
 * down), which is worth seeing but not worth waking anyone.
 */
export const SEVERITY: readonly InstanceStatus[] = ['lost', 'unhealthy', 'suspect', 'offline', 'healthy'];

/** The status of a service's worst instance: the colour of its tile. */
export function worstStatus(service: ServiceSummary): InstanceStatus {
  return SEVERITY.find((status) => service.byStatus[status] > 0) ?? 'healthy';
}

/** Tiles worst first, then by name, so trouble is at the top left where eyes land. */
export function byHealth(services: readonly ServiceSummary[]): ServiceSummary[] {
  const rank = (s: ServiceSummary) => SEVERITY.indexOf(worstStatus(s));
  return [...services].sort((a, b) => rank(a) - rank(b) || a.service.localeCompare(b.service, 'en', { numeric: true }));
}
