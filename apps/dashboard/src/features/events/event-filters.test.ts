import type { EventRecord } from '@vigil/protocol';
import { describe, expect, it } from 'vitest';
import { eventFiltersFromParams, eventQuery, matchesEvent, paramsFromEventFilters, timeBounds } from './event-filters';

const event = (overrides: Partial<EventRecord>): EventRecord => ({
  id: '1',
  time: 1_000_000,
  level: 'important',
  type: 'instance.lost',
  origin: 'backend',
  message: '',
  service: 'orders',
  instanceId: 'i-1',
  attributes: {},
  ...overrides,
});

describe('event filters', () => {
  it('default to the last day, every level', () => {
    const filters = eventFiltersFromParams(new URLSearchParams());
    expect(filters).toEqual({ service: null, instanceId: null, type: null, levels: [], range: '1d', from: null, to: null });
    expect(paramsFromEventFilters(filters).toString()).toBe('');
  });

  it('round-trip a shortcut and a fixed range through the URL', () => {
    const shortcut = eventFiltersFromParams(new URLSearchParams('level=normal,emergency&range=30m&service=orders&type=instance.'));
    expect(shortcut).toMatchObject({ levels: ['emergency', 'normal'], range: '30m', service: 'orders', type: 'instance.' });
    expect(eventFiltersFromParams(paramsFromEventFilters(shortcut))).toEqual(shortcut);

    const fixed = eventFiltersFromParams(new URLSearchParams('from=1000&to=2000'));
    expect(fixed).toMatchObject({ range: null, from: 1000, to: 2000 });
    expect(paramsFromEventFilters(fixed).toString()).toBe('from=1000&to=2000');
    expect(timeBounds(fixed, 99_999)).toEqual({ from: 1000, to: 2000 });
  });

  it('turns a shortcut into bounds ending now, open for new events', () => {
    const filters = eventFiltersFromParams(new URLSearchParams('range=1h'));
    expect(timeBounds(filters, 10_000_000)).toEqual({ from: 10_000_000 - 3_600_000, to: null });
    expect(eventQuery(filters, timeBounds(filters, 10_000_000)).toString()).toBe(`from=${10_000_000 - 3_600_000}`);
  });

  it('matches live events as the backend query does', () => {
    const filters = eventFiltersFromParams(new URLSearchParams('service=orders&type=instance.'));
    const bounds = { from: 500_000, to: null };
    expect(matchesEvent(filters, bounds, event({}))).toBe(true);
    expect(matchesEvent(filters, bounds, event({ type: 'plugin.disabled' }))).toBe(false);
    expect(matchesEvent(filters, bounds, event({ service: 'mailer' }))).toBe(false);
    expect(matchesEvent(filters, bounds, event({ time: 1 }))).toBe(false);
    const exact = eventFiltersFromParams(new URLSearchParams('type=instance.lost&instanceId=i-2'));
    expect(matchesEvent(exact, bounds, event({}))).toBe(false);
    expect(matchesEvent(exact, bounds, event({ instanceId: 'i-2' }))).toBe(true);
  });
});
