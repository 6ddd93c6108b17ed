import {
  HEALTH_STATUSES,
  INSTANCE_SORT_KEYS,
  METRIC_SORT_KEYS,
  INSTANCE_STATUSES,
  type HealthStatus,
  type InstanceSortKey,
  type InstanceStatus,
  type InstanceWindow,
} from '@vigil/protocol';

/** What the instance table shows; it lives in the URL (`#/?service=orders&status=lost`), so a view can be shared. */
export interface InstanceFilters {
  service: string | null;
  status: InstanceStatus[];
  /** What instances say of their own health (`down`, `degraded`, `up`); empty: any, reported or not. */
  health: HealthStatus[];
  plugin: string | null;
  /** Text over host, IPs, instance id and service. */
  q: string;
  sort: InstanceSortKey;
  /** Null: the backend's default (newest first for times, highest first for metrics, A-Z for names). */
  order: 'asc' | 'desc' | null;
}

export const DEFAULT_FILTERS: InstanceFilters = {
  service: null,
  status: [],
  health: [],
  plugin: null,
  q: '',
  sort: 'service',
  order: null,
};

function isStatus(value: string): value is InstanceStatus {
  return (INSTANCE_STATUSES as readonly string[]).includes(value);
}

/** Health words worst first, the order the filter shows them in. */
export const HEALTH_FILTER_ORDER: readonly HealthStatus[] = ['down', 'degraded', 'up'];

function isHealth(value: string): value is HealthStatus {
  return (HEALTH_STATUSES as readonly string[]).includes(value);
}

function isSortKey(value: string): value is InstanceSortKey {
  return (INSTANCE_SORT_KEYS as readonly string[]).includes(value);
}

/** Reads filters from the URL; a value the dashboard does not know (an old link) is dropped, not an error. */
export function filtersFromParams(params: URLSearchParams): InstanceFilters {
  const sort = params.get('sort') ?? '';
  const order = params.get('order');
  const status = (params.get('status') ?? '').split(',').filter(isStatus);
  const health = (params.get('health') ?? '').split(',').filter(isHealth);
  return {
    service: params.get('service')?.trim() || null,
    status: INSTANCE_STATUSES.filter((s) => status.includes(s)),
    health: HEALTH_FILTER_ORDER.filter((h) => health.includes(h)),
    plugin: params.get('plugin')?.trim() || null,
    q: params.get('q') ?? '',
    sort: isSortKey(sort) ? sort : DEFAULT_FILTERS.sort,
    order: order === 'asc' || order === 'desc' ? order : null,
  };
}

/** The URL query of filters, leaving out defaults so links stay short. */
export function paramsFromFilters(filters: InstanceFilters): URLSearchParams {
  const params = new URLSearchParams();
  if (filters.service) params.set('service', filters.service);
  if (filters.status.length > 0) params.set('status', filters.status.join(','));
  if (filters.health.length > 0) params.set('health', filters.health.join(','));
  if (filters.plugin) params.set('plugin', filters.plugin);
  if (filters.q.trim()) params.set('q', filters.q);
  if (filters.sort !== DEFAULT_FILTERS.sort) params.set('sort', filters.sort);
  if (filters.order) params.set('order', filters.order);
  return params;
}

export function hasFilters(filters: InstanceFilters): boolean {
  return (
    filters.service !== null || filters.status.length > 0 || filters.health.length > 0 || filters.plugin !== null || filters.q.trim() !== ''
  );
}

/** The filters with none set, sort kept. */
export function withoutFilters(filters: InstanceFilters): InstanceFilters {
  return { ...filters, service: null, status: [], health: [], plugin: null, q: '' };
}

function isMetricSort(sort: InstanceSortKey): boolean {
  return (METRIC_SORT_KEYS as readonly string[]).includes(sort);
}

/** The order a sort shows when none is given, as the backend does: newest first for times, highest first for metrics, A-Z for names. */
export function effectiveOrder(filters: InstanceFilters): 'asc' | 'desc' {
  if (filters.order) return filters.order;
  return filters.sort === 'lastHeartbeatTime' || filters.sort === 'registeredAt' || isMetricSort(filters.sort) ? 'desc' : 'asc';
}

/** Sorting by a column: a second click on the same column reverses it. */
export function sortedBy(filters: InstanceFilters, sort: InstanceSortKey): InstanceFilters {
  if (filters.sort !== sort) return { ...filters, sort, order: null };
  return { ...filters, order: effectiveOrder(filters) === 'asc' ? 'desc' : 'asc' };
}

/** The socket view of these filters over rows `offset .. offset + limit`. */
export function windowOf(filters: InstanceFilters, offset: number, limit: number): InstanceWindow {
  const q = filters.q.trim();
  return {
    ...(filters.service && { service: filters.service }),
    ...(filters.status.length > 0 && { status: filters.status }),
    ...(filters.health.length > 0 && { health: filters.health }),
    ...(filters.plugin && { plugin: filters.plugin }),
    ...(q && { q: q.slice(0, 256) }),
    sort: filters.sort,
    ...(filters.order && { order: filters.order }),
    offset,
    limit,
  };
}
