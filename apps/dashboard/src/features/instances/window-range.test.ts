import { describe, expect, it } from 'vitest';
import { renderedRange, ROW_HEIGHT, WINDOW_ROWS, windowOffsetFor } from './window-range';

describe('table windowing', () => {
  it('renders the visible rows and a few more on each side, within the list', () => {
    expect(renderedRange(0, 10 * ROW_HEIGHT, 10_000)).toEqual({ first: 0, last: 18 });
    expect(renderedRange(100 * ROW_HEIGHT + 5, 10 * ROW_HEIGHT, 10_000)).toEqual({ first: 92, last: 119 });
    expect(renderedRange(0, 10 * ROW_HEIGHT, 3)).toEqual({ first: 0, last: 3 });
    expect(renderedRange(0, 10 * ROW_HEIGHT, 0)).toEqual({ first: 0, last: 0 });
  });

  it('starts the backend window on a step, a step above the first visible row', () => {
    expect(windowOffsetFor(0)).toBe(0);
    expect(windowOffsetFor(49)).toBe(0);
    expect(windowOffsetFor(50)).toBe(0);
    expect(windowOffsetFor(149)).toBe(50);
    expect(windowOffsetFor(9_990)).toBe(9_900);
  });

  it('always covers a screenful of rows below the first visible one', () => {
    for (let first = 0; first < 2_000; first += 7) {
      const offset = windowOffsetFor(first);
      expect(offset).toBeLessThanOrEqual(first);
      expect(offset + WINDOW_ROWS).toBeGreaterThanOrEqual(first + 150);
    }
  });
});
