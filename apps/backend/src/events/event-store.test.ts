import type { EventRecord } from '@vigil/protocol';
import { describe, expect, it } from 'vitest';
import { EventStore, eventBytes } from './event-store.js';

const event = (time: number, overrides: Partial<EventRecord> = {}): Omit<EventRecord, 'id'> => ({
  time,
  level: 'normal',
  type: 'instance.registered',
  origin: 'backend',
  message: 'registered',
  instanceId: 'a',
  service: 'orders',
  attributes: {},
  ...overrides,
});

const all = { offset: 0, limit: 1000 };

describe('EventStore', () => {
  it('answers newest first with increasing ids', () => {
    const store = new EventStore(100, 60_000);
    store.add(event(1));
    store.add(event(2));
    const { events, total } = store.query(all, 3);
    expect(total).toBe(2);
    expect(events.map((e) => e.time)).toEqual([2, 1]);
    expect(Number(events[0]!.id)).toBeGreaterThan(Number(events[1]!.id));
  });

  it('keeps at most `max` events, dropping the oldest', () => {
    const store = new EventStore(3, 60_000);
    for (let t = 1; t <= 5; t++) store.add(event(t));
    expect(store.query(all, 5).events.map((e) => e.time)).toEqual([5, 4, 3]);
  });

  it('keeps at most `maxBytes` of estimated event bytes, dropping the oldest, however wide the events', () => {
    const wide = (time: number) =>
      event(time, {
        message: '中'.repeat(4_096),
        attributes: Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`a${i}`, '中'.repeat(1_000)])),
      });
    const size = eventBytes(wide(0));
    expect(size).toBeGreaterThan(2 * (4_096 + 32 * 1_000));
    const store = new EventStore(100_000, 1e9, 10 * size);
    for (let t = 1; t <= 1_000; t++) store.add(wide(t));
    expect(store.size).toBe(10);
    expect(store.bytes).toBe(10 * size);
    expect(store.query(all, 1_000).events.map((e) => e.time)).toEqual([1000, 999, 998, 997, 996, 995, 994, 993, 992, 991]);
    // Narrow events fill the same budget by count as before.
    for (let t = 1_001; t <= 1_100; t++) store.add(event(t));
    expect(store.size).toBeGreaterThanOrEqual(100);
    expect(store.bytes).toBeLessThanOrEqual(10 * size);
  });

  it('forgets events older than the maximum age', () => {
    const store = new EventStore(100, 1_000);
    store.add(event(0));
    store.add(event(900));
    expect(store.query(all, 1_500).events.map((e) => e.time)).toEqual([900]);
  });

  it('filters by service, instance, level, type prefix, origin and time range, and pages', () => {
    const store = new EventStore(100, 1e9);
    store.add(event(1, { type: 'instance.lost', level: 'important' }));
    store.add(event(2, { service: 'payments', instanceId: 'b' }));
    store.add(event(3, { type: 'plugin.installed' }));
    store.add(event(4, { type: 'log.warn', origin: 'agent', level: 'important' }));
    store.add(event(5, { type: 'instance.suspect' }));
    const times = (q: Parameters<EventStore['query']>[0]) => store.query(q, 10).events.map((e) => e.time);
    expect(times({ ...all, service: 'payments' })).toEqual([2]);
    expect(times({ ...all, instanceId: 'a', levels: ['important'] })).toEqual([4, 1]);
    expect(times({ ...all, type: 'instance.' })).toEqual([5, 2, 1]);
    expect(times({ ...all, type: 'instance.lost' })).toEqual([1]);
    expect(times({ ...all, origin: 'agent' })).toEqual([4]);
    expect(times({ ...all, from: 2, to: 4 })).toEqual([4, 3, 2]);
    expect(store.query({ offset: 1, limit: 2 }, 10)).toMatchObject({ total: 5, events: [{ time: 4 }, { time: 3 }] });
  });

  it('counts by level since a time', () => {
    const store = new EventStore(100, 1e9);
    store.add(event(1, { level: 'emergency' }));
    store.add(event(2, { level: 'important' }));
    store.add(event(3));
    expect(store.countByLevel(2, 10)).toEqual({ emergency: 0, important: 1, normal: 1 });
  });
});
