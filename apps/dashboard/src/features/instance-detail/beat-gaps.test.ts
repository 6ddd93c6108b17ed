import { describe, expect, it } from 'vitest';
import { beatGaps, median, sparklinePoints, sparklineTop, withArrival } from './beat-gaps';

describe('beat gaps', () => {
  it('measures the time between arrivals', () => {
    expect(beatGaps([1_000, 1_300, 1_610, 1_900])).toEqual([300, 310, 290]);
    expect(beatGaps([1_000])).toEqual([]);
  });

  it('takes the median', () => {
    expect(median([300, 310, 290])).toBe(300);
    expect(median([300, 310])).toBe(305);
    expect(median([])).toBeNull();
  });

  it('draws values in the box with the largest at the top', () => {
    expect(sparklinePoints([0, 50, 100], 200, 40, 100)).toBe('0.0,40.0 100.0,20.0 200.0,0.0');
    expect(sparklinePoints([], 200, 40, 100)).toBe('');
  });

  it('draws a steady rhythm at mid-height and lets a late beat stand out', () => {
    expect(sparklineTop([300, 310, 290])).toBe(600);
    expect(sparklineTop([300, 300, 2_000])).toBe(2_000);
  });

  it('adds a live arrival only when it is newer, keeping the newest', () => {
    const arrivals = [1, 2, 3];
    expect(withArrival(arrivals, 3, 3)).toBe(arrivals);
    expect(withArrival(arrivals, 4, 3)).toEqual([2, 3, 4]);
  });
});
