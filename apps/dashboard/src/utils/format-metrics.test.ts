import { describe, expect, it } from 'vitest';
import { formatBytes, formatMs, formatPercent, heapShare } from './format-metrics';

describe('metric figures as text', () => {
  it('shows bytes in binary units with three significant digits', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(48.2 * 1024 * 1024)).toBe('48.2 MiB');
    expect(formatBytes(150 * 1024 * 1024)).toBe('150 MiB');
    expect(formatBytes(1.5 * 1024 ** 3)).toBe('1.50 GiB');
    expect(formatBytes(null)).toBe('–');
  });

  it('shows percentages and delays at a precision that matters', () => {
    expect(formatPercent(0.43)).toBe('0.4 %');
    expect(formatPercent(187.6)).toBe('188 %');
    expect(formatMs(0.421)).toBe('0.42 ms');
    expect(formatMs(12.46)).toBe('12.5 ms');
    expect(formatMs(2040.4)).toBe('2,040 ms');
    expect(formatMs(null)).toBe('–');
    // An axis starts at a plain zero.
    expect(formatMs(0)).toBe('0 ms');
    expect(formatPercent(0)).toBe('0 %');
  });

  it('takes heap used as a share of the limit only when both are known', () => {
    expect(heapShare(50, 200)).toBe(25);
    expect(heapShare(50, null)).toBeNull();
    expect(heapShare(50, 0)).toBeNull();
  });
});
