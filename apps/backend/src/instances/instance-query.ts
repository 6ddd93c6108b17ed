import { HEALTH_STATUSES, INSTANCE_STATUSES, METRIC_SORT_KEYS, type Instance, type InstanceStatus } from '@vigil/protocol';
import { z } from 'zod';
import { queryInt, queryList, queryText } from '../common/query-params.js';

export const SORT_KEYS = ['lastHeartbeatTime', 'service', 'hostName', 'status', 'registeredAt', 'appName', ...METRIC_SORT_KEYS] as const;

type MetricSortKey = (typeof METRIC_SORT_KEYS)[number];

/** True for a sort key that reads the latest metrics. */
export const isMetricSort = (key: string): key is MetricSortKey => (METRIC_SORT_KEYS as readonly string[]).includes(key);

export const instanceQuerySchema = z.object({
  service: queryText.optional(),
  app: queryText.optional(),
  status: queryList(INSTANCE_STATUSES).optional(),
  /** What the instances last said of their health; instances that never said match none. */
  health: queryList(HEALTH_STATUSES).optional(),
  plugin: queryText.optional(),
  /** Text search over host name, IPs, instance id and service. */
  q: queryText.optional(),
  sort: z.enum(SORT_KEYS).default('service'),
  order: z.enum(['asc', 'desc']).optional(),
  offset: queryInt(0, 100_000_000).default(0),
  limit: queryInt(1, 100_000).default(10_000),
});

export type InstanceQuery = z.output<typeof instanceQuerySchema>;

const STATUS_RANK: Record<InstanceStatus, number> = { lost: 0, unhealthy: 1, suspect: 2, offline: 3, healthy: 4 };

/** Orders by a figure of the latest metrics; instances without it go last whichever the order (`sign`). */
function compareMetric(key: MetricSortKey, sign: number): (a: Instance, b: Instance) => number {
  return (a, b) => {
    const x = a.metrics?.[key] ?? null;
    const y = b.metrics?.[key] ?? null;
    if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
    return sign * (x - y);
  };
}

function compareBy(key: Exclude<InstanceQuery['sort'], MetricSortKey>): (a: Instance, b: Instance) => number {
  switch (key) {
    case 'lastHeartbeatTime':
    case 'registeredAt':
      return (a, b) => a[key] - b[key];
    case 'status':
      return (a, b) => STATUS_RANK[a.status] - STATUS_RANK[b.status];
    default:
      return (a, b) => (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : 0);
  }
}

/** Filters, sorts (ties broken by service, host, id, so pages are stable) and pages instances. */
export function queryInstances(all: Iterable<Instance>, q: InstanceQuery): { instances: Instance[]; total: number } {
  const text = q.q?.toLowerCase();
  const statuses = q.status && new Set<string>(q.status);
  const healths = q.health && new Set<string>(q.health);
  const matches: Instance[] = [];
  for (const i of all) {
    if (q.service !== undefined && i.service !== q.service) continue;
    if (q.app !== undefined && i.appName !== q.app) continue;
    if (statuses && !statuses.has(i.status)) continue;
    if (healths && (i.health === null || !healths.has(i.health.status))) continue;
    if (q.plugin !== undefined && !i.plugins.some((p) => p.name === q.plugin)) continue;
    if (
      text !== undefined &&
      !i.hostName.toLowerCase().includes(text) &&
      !i.instanceId.toLowerCase().includes(text) &&
      !i.service.toLowerCase().includes(text) &&
      !i.ip.some((ip) => ip.includes(text))
    ) {
      continue;
    }
    matches.push(i);
  }
  // Recent heartbeats and the highest figures first unless asked otherwise; names A-Z.
  const order = q.order ?? (q.sort === 'lastHeartbeatTime' || q.sort === 'registeredAt' || isMetricSort(q.sort) ? 'desc' : 'asc');
  const sign = order === 'asc' ? 1 : -1;
  const sort = q.sort;
  const by = isMetricSort(sort) ? null : compareBy(sort);
  const primary = by === null ? compareMetric(sort as MetricSortKey, sign) : (a: Instance, b: Instance) => sign * by(a, b);
  matches.sort(
    (a, b) =>
      primary(a, b) ||
      a.service.localeCompare(b.service) ||
      a.hostName.localeCompare(b.hostName) ||
      a.instanceId.localeCompare(b.instanceId),
  );
  return { instances: matches.slice(q.offset, q.offset + q.limit), total: matches.length };
}

/** Counts for the overview cards. */
export function countInstances(all: Iterable<Instance>): {
  apps: number;
  services: number;
  instances: number;
  byStatus: Record<InstanceStatus, number>;
} {
  const apps = new Set<string>();
  const services = new Set<string>();
  const byStatus = Object.fromEntries(INSTANCE_STATUSES.map((s) => [s, 0])) as Record<InstanceStatus, number>;
  let instances = 0;
  for (const i of all) {
    instances++;
    apps.add(i.appName);
    services.add(i.service);
    byStatus[i.status]++;
  }
  return { apps: apps.size, services: services.size, instances, byStatus };
}
