import type { HealthIndicator, HealthReport } from '@vigil/protocol';

/**
 * The indicators that make the instance's health what it is: the `down` ones of a `down`
 * instance, the `degraded` ones of a `degraded` one, none when it is `up`. By name, A-Z.
 */
export function failingIndicators(health: HealthReport | null): string[] {
  if (health === null || health.status === 'up') return [];
  return Object.entries(health.indicators)
    .filter(([, indicator]) => indicator.status === health.status)
    .map(([name]) => name)
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

const RANK: Record<HealthIndicator['status'], number> = { down: 0, degraded: 1, up: 2 };

/** Every indicator, worst first, then by name: what the detail view lists. */
export function indicatorsWorstFirst(health: HealthReport | null): [string, HealthIndicator][] {
  if (health === null) return [];
  return Object.entries(health.indicators).sort(
    ([a, x], [b, y]) => RANK[x.status] - RANK[y.status] || a.localeCompare(b, 'en', { numeric: true }),
  );
}
