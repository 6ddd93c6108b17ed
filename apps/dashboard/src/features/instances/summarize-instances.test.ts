import type { Instance } from '@vigil/protocol';
import { describe, expect, it } from 'vitest';
import { summarizeInstances } from './summarize-instances';

function instance(instanceId: string, service: string, appName: string, status: Instance['status']): Instance {
  return {
    instanceId,
    source: 'agent',
    metadata: {},
    ephemeral: true,
    service,
    appName,
    artifact: service,
    appType: 'node',
    hostName: 'host-1',
    ip: [],
    processId: 1,
    dynamicInstall: false,
    version: '1.0.0',
    plugins: [],
    status,
    registeredAt: 0,
    lastHeartbeatTime: 0,
    statusSince: 0,
  };
}

describe('summarizeInstances', () => {
  it('counts instances by status and distinct services and apps', () => {
    const summary = summarizeInstances([
      instance('a', 'orders', 'shop', 'healthy'),
      instance('b', 'orders', 'shop', 'lost'),
      instance('c', 'payments', 'shop', 'healthy'),
      instance('d', 'mailer', 'backoffice', 'lost'),
      instance('e', 'mailer', 'backoffice', 'offline'),
    ]);
    expect(summary).toEqual({ total: 5, healthy: 2, suspect: 0, lost: 2, offline: 1, unhealthy: 0, services: 3, apps: 2 });
  });

  it('is all zeros without instances', () => {
    expect(summarizeInstances([])).toEqual({ total: 0, healthy: 0, suspect: 0, lost: 0, offline: 0, unhealthy: 0, services: 0, apps: 0 });
  });
});
