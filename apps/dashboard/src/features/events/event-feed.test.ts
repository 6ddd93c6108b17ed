import type { EventRecord } from '@vigil/protocol';
import { describe, expect, it } from 'vitest';
import { withLiveEvent, type EventFeed } from './event-feed';
import { eventFiltersFromParams } from './event-filters';

const event = (id: number, overrides: Partial<EventRecord> = {}): EventRecord => ({
  id: String(id),
  time: 1_000_000 + id,
  level: 'important',
  type: 'instance.lost',
  origin: 'backend',
  message: '',
  service: 'orders',
  attributes: {},
  ...overrides,
});

const feed: EventFeed = {
  events: [event(10), event(8)],
  total: 2,
  counts: { emergency: { total: 0, newestId: 0 }, important: { total: 2, newestId: 10 }, normal: { total: 5, newestId: 9 } },
};
const bounds = { from: 0, to: null };

describe('withLiveEvent', () => {
  it('puts a newer matching event on top and counts it', () => {
    const next = withLiveEvent(feed, event(11), eventFiltersFromParams(new URLSearchParams()), bounds);
    expect(next.events.map((e) => e.id)).toEqual(['11', '10', '8']);
    expect(next.total).toBe(3);
    expect(next.counts.important).toEqual({ total: 3, newestId: 11 });
  });

  it('does not count or list twice an event the REST answers already had', () => {
    const filters = eventFiltersFromParams(new URLSearchParams());
    expect(withLiveEvent(feed, event(10), filters, bounds)).toBe(feed);
    expect(withLiveEvent(feed, event(9, { level: 'normal' }), filters, bounds)).toBe(feed);
  });

  it('counts an event of a hidden level on its card without listing it', () => {
    const next = withLiveEvent(
      feed,
      event(12, { level: 'emergency' }),
      eventFiltersFromParams(new URLSearchParams('level=important')),
      bounds,
    );
    expect(next.events).toBe(feed.events);
    expect(next.counts.emergency).toEqual({ total: 1, newestId: 12 });
  });

  it('ignores events outside the filters', () => {
    expect(
      withLiveEvent(feed, event(13, { service: 'mailer' }), eventFiltersFromParams(new URLSearchParams('service=orders')), bounds),
    ).toBe(feed);
  });
});
