import { LIMITS, type EventLevel, type HealthReport, type HealthStatus, type InstanceStatus } from '@vigil/protocol';
import { sameJson } from './same-input.js';

/**
 * What an instance's own health report does to its status (issue 21), for the lease machine.
 * A beating agent instance is `unhealthy` while its health is `down` and `healthy` otherwise:
 * `degraded` stays `healthy` (it still serves, so Nacos clients must still route to it; the
 * report says `degraded`, and an `instance.degraded` event says when it began).
 */

/** The status of an ephemeral instance that beats, given what it last said of its health. */
export function aliveStatus(health: HealthReport | null): 'healthy' | 'unhealthy' {
  return health !== null && health.status === 'down' ? 'unhealthy' : 'healthy';
}

/** Same status and same indicators (statuses and details). */
export function sameHealth(a: HealthReport | null, b: HealthReport | null): boolean {
  return a === b || (a !== null && b !== null && sameJson(a, b));
}

/** An event the lease machine logs for its instance (time and instance added there). */
export interface HealthEvent {
  level: EventLevel;
  type: string;
  message: string;
  attributes: Record<string, string>;
}

/** Backend events carry at most as many attributes as an agent's. */
const MAX_ATTRIBUTES = LIMITS.eventAttributes;

/**
 * The indicators at `status`, comma-joined as `indicators`, and each one's details as
 * `<indicator>.<key>` (as many as the attribute limit leaves room for).
 */
function indicatorAttributes(health: HealthReport, status: HealthStatus, into: Record<string, string>): string[] {
  const names = Object.keys(health.indicators).filter((name) => health.indicators[name]!.status === status);
  into.indicators = names.join(',');
  let room = MAX_ATTRIBUTES - Object.keys(into).length;
  for (const name of names) {
    for (const [key, value] of Object.entries(health.indicators[name]!.details ?? {})) {
      if (room-- <= 0) return names;
      into[`${name}.${key}`] = value;
    }
  }
  return names;
}

/** `(db, cache)`, or nothing when the report names no indicator at that status. */
const listed = (names: string[]) => (names.length > 0 ? ` (${names.join(', ')})` : '');

/** The event of a report whose status differs from the previous one (none before counts as `up`); null when it does not. */
export function healthEventOf(before: HealthReport | null, after: HealthReport | null): HealthEvent | null {
  const from = before?.status ?? 'up';
  const to = after?.status ?? 'up';
  if (from === to) return null;
  if (to === 'up') return { level: 'normal', type: 'instance.recovered', message: 'reports its health up again', attributes: { from } };
  const attributes: Record<string, string> = {};
  const names = indicatorAttributes(after!, to, attributes);
  return to === 'down'
    ? { level: 'important', type: 'instance.unhealthy', message: `reports its health down${listed(names)}`, attributes }
    : { level: 'normal', type: 'instance.degraded', message: `reports its health degraded${listed(names)}`, attributes };
}

/**
 * The events of a beat that brings an instance back from `from` (suspect, lost, offline) to
 * `alive`: `instance.recovered`, or `instance.unhealthy` when its health is still (or now) down;
 * and `instance.degraded` when the same beat reports a newly degraded health.
 */
export function revivalEventsOf(from: InstanceStatus, before: HealthReport | null, after: HealthReport | null): HealthEvent[] {
  const again = `beats again after being ${from}`;
  if (aliveStatus(after) === 'unhealthy') {
    const attributes: Record<string, string> = { from };
    const names = indicatorAttributes(after!, 'down', attributes);
    return [
      { level: 'important', type: 'instance.unhealthy', message: `${again}, and reports its health down${listed(names)}`, attributes },
    ];
  }
  const events: HealthEvent[] = [{ level: 'normal', type: 'instance.recovered', message: again, attributes: { from } }];
  const change = healthEventOf(before, after);
  if (change !== null && change.type === 'instance.degraded') events.push(change);
  return events;
}
