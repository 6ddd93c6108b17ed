import { metricsOf, type Instance } from '@vigil/protocol';
import { describe, expect, it } from 'vitest';
import { countInstances, instanceQuerySchema, queryInstances } from './instance-query.js';

function instance(id: string, overrides: Partial<Instance> = {}): Instance {
  return {
    instanceId: id,
    source: 'agent',
    service: 'orders',
    appName: 'shop',
    artifact: 'orders',
    appType: 'default',
    hostName: `host-${id}`,
    ip: ['10.0.0.1'],
    processId: 1,
    dynamicInstall: false,
    version: '0.1.0',
    plugins: [],
    metadata: {},
    ephemeral: true,
    status: 'healthy',
    registeredAt: 0,
    lastHeartbeatTime: 0,
    statusSince: 0,
    metrics: null,
    health: null,
    ...overrides,
  };
}

const fleet = [
  instance('a', { lastHeartbeatTime: 30, service: 'payments' }),
  instance('b', { lastHeartbeatTime: 10, status: 'lost', ip: ['10.1.2.3'] }),
  instance('c', { lastHeartbeatTime: 20, plugins: [{ name: 'template', version: '1.2.0', extInfo: {} }], appName: 'ops' }),
];
const ids = (query: Record<string, string>) => queryInstances(fleet, instanceQuerySchema.parse(query)).instances.map((i) => i.instanceId);

describe('queryInstances', () => {
  it('sorts by service then host by default, and by last heartbeat newest first on request', () => {
    expect(ids({})).toEqual(['b', 'c', 'a']);
    expect(ids({ sort: 'lastHeartbeatTime' })).toEqual(['a', 'c', 'b']);
    expect(ids({ sort: 'lastHeartbeatTime', order: 'asc' })).toEqual(['b', 'c', 'a']);
  });

  it('filters by service, app, status list, plugin and text over host, IP and id', () => {
    expect(ids({ service: 'orders' })).toEqual(['b', 'c']);
    expect(ids({ app: 'ops' })).toEqual(['c']);
    expect(ids({ status: 'lost,suspect' })).toEqual(['b']);
    expect(ids({ plugin: 'template' })).toEqual(['c']);
    expect(ids({ q: '10.1.2' })).toEqual(['b']);
    expect(ids({ q: 'HOST-A' })).toEqual(['a']);
  });

  it('sorts by a metric, highest first unless asked otherwise, instances without metrics last in either order', () => {
    const figures = (cpu: number, rss: number, p99: number) => metricsOf([cpu, rss, 1, 1, 1, p99, p99, 0.1, 0, 1, 1], 0);
    const loaded = [
      instance('idle', { metrics: figures(2, 900, 40) }),
      instance('old-agent'),
      instance('busy', { metrics: figures(95, 100, 3) }),
      instance('mid', { metrics: figures(40, 500, 700) }),
    ];
    const by = (query: Record<string, string>) =>
      queryInstances(loaded, instanceQuerySchema.parse(query)).instances.map((i) => i.instanceId);
    expect(by({ sort: 'cpu' })).toEqual(['busy', 'mid', 'idle', 'old-agent']);
    expect(by({ sort: 'cpu', order: 'asc' })).toEqual(['idle', 'mid', 'busy', 'old-agent']);
    expect(by({ sort: 'rss' })).toEqual(['idle', 'mid', 'busy', 'old-agent']);
    expect(by({ sort: 'eventLoopDelayP99', order: 'asc' })).toEqual(['busy', 'idle', 'mid', 'old-agent']);
  });

  it('filters by the health instances report; those that never said match no health filter', () => {
    const reported = [
      instance('down', { health: { status: 'down', indicators: { db: { status: 'down' } } } }),
      instance('degraded', { health: { status: 'degraded', indicators: {} } }),
      instance('up', { health: { status: 'up', indicators: {} } }),
      instance('silent'),
    ];
    const by = (health: string) => queryInstances(reported, instanceQuerySchema.parse({ health })).instances.map((i) => i.instanceId);
    expect(by('down')).toEqual(['down']);
    expect(by('down,degraded')).toEqual(['degraded', 'down']);
    expect(by('up')).toEqual(['up']);
  });

  it('pages with a total of all matches', () => {
    expect(queryInstances(fleet, instanceQuerySchema.parse({ offset: '1', limit: '1' }))).toMatchObject({
      total: 3,
      instances: [{ instanceId: 'c' }],
    });
  });

  it('refuses bad parameters, naming them', () => {
    const result = instanceQuerySchema.safeParse({ status: 'sleeping', limit: '-1', sort: 'pid', health: 'fine' });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path[0]).sort()).toEqual(['health', 'limit', 'sort', 'status']);
  });

  it('counts apps, services and instances by status', () => {
    expect(countInstances(fleet)).toEqual({
      apps: 2,
      services: 2,
      instances: 3,
      byStatus: { healthy: 2, suspect: 0, lost: 1, offline: 0, unhealthy: 0 },
    });
  });
});
