import { EVENT_LEVELS, type EventLevel, type EventRecord } from '@vigil/protocol';

/** Time range shortcuts, as in the URL. */
export const RANGES = { '30m': 30 * 60_000, '1h': 3_600_000, '1d': 86_400_000, '1w': 7 * 86_400_000 } as const;
export type RangeKey = keyof typeof RANGES;
export const RANGE_LABELS: Record<RangeKey, string> = { '30m': '30 min', '1h': '1 h', '1d': '1 d', '1w': '1 week' };
const DEFAULT_RANGE: RangeKey = '1d';

/** What the events view shows; it lives in the URL (`#/events?level=important&range=1h`). */
export interface EventFilters {
  service: string | null;
  instanceId: string | null;
  /** Exact type, or a prefix ending in `.` (`instance.`). */
  type: string | null;
  /** Empty: every level. */
  levels: EventLevel[];
  /** A range ending now, or null for the fixed `from` .. `to`. */
  range: RangeKey | null;
  from: number | null;
  to: number | null;
}

function isRange(value: string | null): value is RangeKey {
  return value !== null && Object.hasOwn(RANGES, value);
}

function epochParam(value: string | null): number | null {
  if (value === null || !/^\d+$/.test(value)) return null;
  return Number(value);
}

export function eventFiltersFromParams(params: URLSearchParams): EventFilters {
  const levels = (params.get('level') ?? '').split(',');
  const from = epochParam(params.get('from'));
  const to = epochParam(params.get('to'));
  const range = params.get('range');
  return {
    service: params.get('service')?.trim() || null,
    instanceId: params.get('instanceId')?.trim() || null,
    type: params.get('type')?.trim() || null,
    levels: EVENT_LEVELS.filter((level) => levels.includes(level)),
    // A fixed range needs at least its start; otherwise the shortcut (default: the last day).
    range: isRange(range) ? range : from === null ? DEFAULT_RANGE : null,
    from: isRange(range) ? null : from,
    to: isRange(range) ? null : to,
  };
}

export function paramsFromEventFilters(filters: EventFilters): URLSearchParams {
  const params = new URLSearchParams();
  if (filters.service) params.set('service', filters.service);
  if (filters.instanceId) params.set('instanceId', filters.instanceId);
  if (filters.type) params.set('type', filters.type);
  if (filters.levels.length > 0) params.set('level', filters.levels.join(','));
  if (filters.range !== null) {
    if (filters.range !== DEFAULT_RANGE) params.set('range', filters.range);
  } else {
    if (filters.from !== null) params.set('from', String(filters.from));
    if (filters.to !== null) params.set('to', String(filters.to));
  }
  return params;
}

/** The time bounds at `now` (server clock); `to` null: up to now and on, so new events belong. */
export function timeBounds(filters: EventFilters, now: number): { from: number | null; to: number | null } {
  if (filters.range !== null) return { from: now - RANGES[filters.range], to: null };
  return { from: filters.from, to: filters.to };
}

/** The backend's events query for these filters, without the level (the level cards count each level). */
export function eventQuery(filters: EventFilters, bounds: { from: number | null; to: number | null }): URLSearchParams {
  const params = new URLSearchParams();
  if (filters.service) params.set('service', filters.service);
  if (filters.instanceId) params.set('instanceId', filters.instanceId);
  if (filters.type) params.set('type', filters.type);
  if (bounds.from !== null) params.set('from', String(bounds.from));
  if (bounds.to !== null) params.set('to', String(bounds.to));
  return params;
}

/** Does a live event belong in the view, levels aside? The same rules as the backend's query. */
export function matchesEvent(filters: EventFilters, bounds: { from: number | null; to: number | null }, event: EventRecord): boolean {
  if (filters.service && event.service !== filters.service) return false;
  if (filters.instanceId && event.instanceId !== filters.instanceId) return false;
  if (filters.type && !(filters.type.endsWith('.') ? event.type.startsWith(filters.type) : event.type === filters.type)) return false;
  if (bounds.from !== null && event.time < bounds.from) return false;
  if (bounds.to !== null && event.time > bounds.to) return false;
  return true;
}
