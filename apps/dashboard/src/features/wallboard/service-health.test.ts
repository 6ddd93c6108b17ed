import type { ServiceSummary } from '@vigil/protocol';
import { describe, expect, it } from 'vitest';
import { byHealth, worstStatus } from './service-health';

function service(name: string, counts: Partial<ServiceSummary['byStatus']>): ServiceSummary {
  const byStatus = { healthy: 0, suspect: 0, lost: 0, offline: 0, unhealthy: 0, ...counts };
  return { service: name, byStatus, instances: Object.values(byStatus).reduce((a, b) => a + b, 0) };
}

describe('service health', () => {
  it('takes the colour of the worst instance', () => {
    expect(worstStatus(service('a', { healthy: 9, lost: 1 }))).toBe('lost');
    expect(worstStatus(service('a', { healthy: 9, suspect: 1, offline: 2 }))).toBe('suspect');
    expect(worstStatus(service('a', { healthy: 9, offline: 1 }))).toBe('offline');
    expect(worstStatus(service('a', { healthy: 3 }))).toBe('healthy');
  });

  it('orders tiles worst first, then by name', () => {
    const tiles = byHealth([
      service('web-10', { healthy: 1 }),
      service('web-9', { healthy: 1 }),
      service('mailer', { suspect: 1 }),
      service('orders', { lost: 1, healthy: 5 }),
    ]);
    expect(tiles.map((t) => t.service)).toEqual(['orders', 'mailer', 'web-9', 'web-10']);
  });
});
