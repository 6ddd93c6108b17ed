import { describe, expect, it } from 'vitest';
import { EXT_INFO_CHANGE_EVERY_MS, ExtInfoChangeRate } from './ext-info-change-rate.js';

describe('ExtInfoChangeRate', () => {
  it('records a few changes in a row as they come (a status going starting, started, ready)', () => {
    const rate = new ExtInfoChangeRate();
    expect([0, 100, 200].map((t) => rate.admit('a', 'template', t))).toEqual([1, 1, 1]);
  });

  it('records a counter that changes every 5 s once a minute, each event counting the changes it stands for', () => {
    const rate = new ExtInfoChangeRate();
    const recorded: { at: number; changes: number }[] = [];
    // Ten minutes of beats at 5 s, each with a new count.
    for (let at = 0; at < 10 * 60_000; at += 5_000) {
      const changes = rate.admit('a', 'counter', at);
      if (changes > 0) recorded.push({ at, changes });
    }
    // The burst, then one a minute: 12 events rather than 120, each counting what it stands for.
    expect(recorded).toEqual([
      { at: 0, changes: 1 },
      { at: 5_000, changes: 1 },
      { at: 10_000, changes: 1 },
      ...Array.from({ length: 9 }, (_, i) => ({ at: (i + 1) * EXT_INFO_CHANGE_EVERY_MS, changes: i === 0 ? 10 : 12 })),
    ]);
  });

  it('keeps plugins and instances apart, and forgets an instance', () => {
    const rate = new ExtInfoChangeRate(1, 60_000);
    expect(rate.admit('a', 'counter', 0)).toBe(1);
    expect(rate.admit('a', 'counter', 1_000)).toBe(0);
    expect(rate.admit('a', 'other', 1_000)).toBe(1);
    expect(rate.admit('b', 'counter', 1_000)).toBe(1);
    rate.forget('a');
    expect(rate.admit('a', 'counter', 2_000)).toBe(1);
  });

  it('records a change at once again after a quiet minute, counting the held one', () => {
    const rate = new ExtInfoChangeRate(1, 60_000);
    expect(rate.admit('a', 'counter', 0)).toBe(1);
    expect(rate.admit('a', 'counter', 30_000)).toBe(0);
    expect(rate.admit('a', 'counter', 61_000)).toBe(2);
  });
});
