import { describe, expect, it } from 'vitest';
import { formatAge } from './format-age';

describe('formatAge', () => {
  it('counts whole seconds under a minute', () => {
    expect(formatAge(0)).toBe('0 s ago');
    expect(formatAge(2_999)).toBe('2 s ago');
    expect(formatAge(59_999)).toBe('59 s ago');
  });

  it('switches to minutes, hours and days', () => {
    expect(formatAge(60_000)).toBe('1 min ago');
    expect(formatAge(59 * 60_000)).toBe('59 min ago');
    expect(formatAge(2 * 3_600_000)).toBe('2 h ago');
    expect(formatAge(3 * 86_400_000)).toBe('3 d ago');
  });

  it('shows a small negative age (clock skew) as zero', () => {
    expect(formatAge(-1_500)).toBe('0 s ago');
  });
});
