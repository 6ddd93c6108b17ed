import { describe, expect, it } from 'vitest';
import { DEFAULT_FILTERS, effectiveOrder, filtersFromParams, paramsFromFilters, sortedBy, windowOf } from './instance-filters';

describe('instance filters in the URL', () => {
  it('round-trips through the query string', () => {
    const filters = {
      service: 'orders',
      status: ['suspect', 'lost'] as const,
      health: ['down', 'degraded'] as const,
      plugin: 'template',
      q: 'web 1',
      sort: 'lastHeartbeatTime' as const,
      order: 'asc' as const,
    };
    const params = paramsFromFilters({ ...filters, status: [...filters.status], health: [...filters.health] });
    expect(params.toString()).toBe(
      'service=orders&status=suspect%2Clost&health=down%2Cdegraded&plugin=template&q=web+1&sort=lastHeartbeatTime&order=asc',
    );
    // Statuses come back in their canonical order, whatever the link said.
    expect(filtersFromParams(new URLSearchParams('status=lost,suspect'))).toEqual({ ...DEFAULT_FILTERS, status: ['suspect', 'lost'] });
    expect(filtersFromParams(new URLSearchParams('health=up,down'))).toEqual({ ...DEFAULT_FILTERS, health: ['down', 'up'] });
    expect(filtersFromParams(params)).toEqual({ ...filters, status: ['suspect', 'lost'], health: ['down', 'degraded'] });
  });

  it('leaves out defaults and drops values it does not know', () => {
    expect(paramsFromFilters(DEFAULT_FILTERS).toString()).toBe('');
    expect(filtersFromParams(new URLSearchParams('status=zombie,lost&health=sick&sort=pid&order=up&service=%20'))).toEqual({
      ...DEFAULT_FILTERS,
      status: ['lost'],
    });
  });

  it('sorts by a column, and reverses on a second click', () => {
    const byBeat = sortedBy(DEFAULT_FILTERS, 'lastHeartbeatTime');
    expect(byBeat).toMatchObject({ sort: 'lastHeartbeatTime', order: null });
    expect(sortedBy(byBeat, 'lastHeartbeatTime').order).toBe('asc');
    expect(sortedBy(DEFAULT_FILTERS, 'service').order).toBe('desc');
  });

  it('sorts metric columns busiest first, as the backend does, and reverses them', () => {
    const byCpu = sortedBy(DEFAULT_FILTERS, 'cpu');
    expect(effectiveOrder(byCpu)).toBe('desc');
    expect(windowOf(byCpu, 0, 10)).toEqual({ sort: 'cpu', offset: 0, limit: 10 });
    const reversed = sortedBy(byCpu, 'cpu');
    expect(windowOf(reversed, 0, 10)).toEqual({ sort: 'cpu', order: 'asc', offset: 0, limit: 10 });
    expect(filtersFromParams(paramsFromFilters(reversed))).toEqual(reversed);
    expect(effectiveOrder(sortedBy(DEFAULT_FILTERS, 'eventLoopDelayP99'))).toBe('desc');
  });

  it('turns into a socket window with only the filters that are set', () => {
    expect(windowOf(DEFAULT_FILTERS, 50, 250)).toEqual({ sort: 'service', offset: 50, limit: 250 });
    expect(windowOf({ ...DEFAULT_FILTERS, q: '  web ', status: ['lost'], health: ['down'] }, 0, 10)).toEqual({
      status: ['lost'],
      health: ['down'],
      q: 'web',
      sort: 'service',
      offset: 0,
      limit: 10,
    });
  });
});
