import { describe, expect, it } from 'vitest';
import { formatDuration } from './format-time';

describe('formatDuration', () => {
  it('uses ms below a second, tenths of seconds below ten, then seconds and minutes', () => {
    expect(formatDuration(849.6)).toBe('850 ms');
    expect(formatDuration(4_210)).toBe('4.2 s');
    expect(formatDuration(12_400)).toBe('12 s');
    expect(formatDuration(180_000)).toBe('3 min');
  });
});
