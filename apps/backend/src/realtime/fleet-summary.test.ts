import type { Instance } from '@vigil/protocol';
import { describe, expect, it } from 'vitest';
import { FleetSummary } from './fleet-summary.js';

function instance(instanceId: string, overrides: Partial<Instance> = {}): Instance {
  return {
    instanceId,
    source: 'agent',
    service: 'orders',
    appName: 'shop',
    artifact: 'orders',
    appType: 'default',
    hostName: 'host-1',
    ip: [],
    processId: 1,
    dynamicInstall: false,
    version: '0.1.0',
    plugins: [{ name: 'template', version: '1.2.0', extInfo: {} }],
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

const zero = { healthy: 0, suspect: 0, lost: 0, offline: 0, unhealthy: 0 };

describe('FleetSummary', () => {
  it('counts apps, services, statuses and plugin usage of the initial fleet, with nothing to report yet', () => {
    const summary = new FleetSummary([
      instance('a'),
      instance('b', { status: 'lost' }),
      instance('c', { service: 'mailer', appName: 'backoffice', plugins: [] }),
    ]);
    expect(summary.counts()).toEqual({ apps: 2, services: 2, instances: 3, byStatus: { ...zero, healthy: 2, lost: 1 } });
    expect(summary.serviceSummaries()).toEqual([
      { service: 'orders', instances: 2, byStatus: { ...zero, healthy: 1, lost: 1 } },
      { service: 'mailer', instances: 1, byStatus: { ...zero, healthy: 1 } },
    ]);
    expect(summary.pluginUsage()).toEqual([{ plugin: 'template', version: '1.2.0', service: 'orders', instances: 2 }]);
    expect(summary.takeChanges()).toEqual({});
  });

  it('reports only what changed, and a service or plugin version that is gone as 0 instances', () => {
    const a = instance('a');
    const summary = new FleetSummary([a, instance('b', { service: 'mailer' })]);
    const upgraded = instance('a', { status: 'suspect', plugins: [{ name: 'template', version: '1.3.0', extInfo: {} }] });
    summary.apply(a, upgraded);
    summary.apply(upgraded, undefined);

    expect(summary.takeChanges()).toEqual({
      counts: { apps: 1, services: 1, instances: 1, byStatus: { ...zero, healthy: 1 } },
      services: [{ service: 'orders', instances: 0, byStatus: zero }],
      plugins: [
        { plugin: 'template', version: '1.2.0', service: 'orders', instances: 0 },
        { plugin: 'template', version: '1.3.0', service: 'orders', instances: 0 },
      ],
    });
    expect(summary.takeChanges()).toEqual({});
  });

  it('ignores changes no count depends on (ext-info, host, times)', () => {
    const a = instance('a');
    const summary = new FleetSummary([a]);
    summary.apply(
      a,
      instance('a', { hostName: 'host-2', lastHeartbeatTime: 9, plugins: [{ name: 'template', version: '1.2.0', extInfo: { x: '1' } }] }),
    );
    expect(summary.takeChanges()).toEqual({});
  });

  it('moves a transition between status counts of the fleet and of its service only, as a rescan would count it', () => {
    const a = instance('a');
    const b = instance('b', { service: 'mailer' });
    const summary = new FleetSummary([a, b]);
    const lost = instance('a', { status: 'lost', statusSince: 5 });
    summary.apply(a, lost);
    expect(summary.takeChanges()).toEqual({
      counts: { apps: 1, services: 2, instances: 2, byStatus: { ...zero, healthy: 1, lost: 1 } },
      services: [{ service: 'orders', instances: 1, byStatus: { ...zero, lost: 1 } }],
    });
    const back = instance('a', { status: 'healthy', statusSince: 9 });
    summary.apply(lost, back);
    const rescan = new FleetSummary([back, b]);
    expect(summary.counts()).toEqual(rescan.counts());
    expect(summary.serviceSummaries()).toEqual(rescan.serviceSummaries());
    expect(summary.pluginUsage()).toEqual(rescan.pluginUsage());
  });
});
