import type { EventRecord } from '@vigil/protocol';
import { describe, expect, it } from 'vitest';
import { firesFor } from './event-filter.js';

const event = (level: EventRecord['level'], type = 'instance.lost'): EventRecord => ({
  id: '1',
  time: 0,
  level,
  type,
  origin: 'backend',
  message: 'm',
  attributes: {},
});

describe('firesFor', () => {
  it('fires for events at or above the minimum level', () => {
    const important = { enabled: true, minLevel: 'important' as const };
    expect(firesFor(important, event('emergency'))).toBe(true);
    expect(firesFor(important, event('important'))).toBe(true);
    expect(firesFor(important, event('normal'))).toBe(false);
    expect(firesFor({ enabled: true, minLevel: 'normal' }, event('normal'))).toBe(true);
    expect(firesFor({ enabled: true, minLevel: 'emergency' }, event('important'))).toBe(false);
  });

  it('never fires when disabled', () => {
    expect(firesFor({ enabled: false, minLevel: 'normal' }, event('emergency'))).toBe(false);
  });

  it('filters by exact type or by prefix ending in "."', () => {
    const webhook = { enabled: true, minLevel: 'normal' as const, eventTypes: ['instance.', 'log.error'] };
    expect(firesFor(webhook, event('normal', 'instance.lost'))).toBe(true);
    expect(firesFor(webhook, event('normal', 'log.error'))).toBe(true);
    expect(firesFor(webhook, event('normal', 'log.error-burst'))).toBe(false);
    expect(firesFor(webhook, event('normal', 'plugin.installed'))).toBe(false);
    expect(firesFor(webhook, event('normal', 'instance'))).toBe(false);
  });
});
