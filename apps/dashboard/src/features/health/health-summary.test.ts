import type { HealthReport } from '@vigil/protocol';
import { describe, expect, it } from 'vitest';
import { failingIndicators, indicatorsWorstFirst } from './health-summary';

const report = (status: HealthReport['status'], indicators: Record<string, HealthReport['status']>): HealthReport => ({
  status,
  indicators: Object.fromEntries(Object.entries(indicators).map(([name, s]) => [name, { status: s }])),
});

describe('health summary', () => {
  it('names the indicators that make an instance down or degraded', () => {
    expect(failingIndicators(report('down', { db: 'down', cache: 'degraded', queue: 'down', disk: 'up' }))).toEqual(['db', 'queue']);
    expect(failingIndicators(report('degraded', { db: 'up', cache: 'degraded' }))).toEqual(['cache']);
    expect(failingIndicators(report('up', { db: 'up' }))).toEqual([]);
    expect(failingIndicators(null)).toEqual([]);
  });

  it('lists indicators worst first, then by name', () => {
    const listed = indicatorsWorstFirst(report('down', { web: 'up', db: 'down', cache: 'degraded', api: 'up' }));
    expect(listed.map(([name]) => name)).toEqual(['db', 'cache', 'api', 'web']);
  });
});
