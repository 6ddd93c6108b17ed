import { describe, expect, it } from 'vitest';
import { ArrivalLog } from './arrival-log.js';

describe('ArrivalLog', () => {
  it('keeps the newest times of each slot, oldest first', () => {
    const log = new ArrivalLog(4);
    const a = log.allocate();
    const b = log.allocate();
    for (let t = 1; t <= 6; t++) log.push(a, t * 1000);
    log.push(b, 42);
    expect(log.list(a)).toEqual([3000, 4000, 5000, 6000]);
    expect(log.list(b)).toEqual([42]);
  });

  it('keeps every slot intact as it grows by chunks', () => {
    const log = new ArrivalLog(3);
    const slots = Array.from({ length: 10_000 }, () => log.allocate());
    slots.forEach((slot, i) => {
      log.push(slot, 1_790_000_000_000 + i);
      log.push(slot, 1_790_000_000_000 + i + 5_000);
    });
    expect(slots.map((slot) => log.list(slot))).toEqual(slots.map((_, i) => [1_790_000_000_000 + i, 1_790_000_000_000 + i + 5_000]));
    expect(log.slots).toBe(10_000);
  });

  it('reuses released slots empty', () => {
    const log = new ArrivalLog(4);
    const a = log.allocate();
    log.push(a, 1);
    log.release(a);
    expect(log.slots).toBe(0);
    const again = log.allocate();
    expect(again).toBe(a);
    expect(log.list(again)).toEqual([]);
  });

  it('estimates the interval as the median of the last three gaps', () => {
    const estimateOf = (times: number[]) => {
      const log = new ArrivalLog(32);
      const slot = log.allocate();
      for (const t of times) log.push(slot, t);
      return log.estimatedInterval(slot);
    };
    expect(estimateOf([0])).toBeNull();
    expect(estimateOf([0, 5_000])).toBe(5_000);
    expect(estimateOf([0, 5_000, 10_000, 70_000])).toBe(5_000);
    expect(estimateOf([0, 4_000, 9_000, 15_000])).toBe(5_000);
  });

  it('leaves beats that arrive back to back (a backlog after a stall) out of the estimate', () => {
    const log = new ArrivalLog(32);
    const slot = log.allocate();
    for (let t = 0; t <= 10_000; t += 1_000) log.push(slot, t);
    for (let n = 0; n < 10; n++) log.push(slot, 30_000 + 3 * n);
    expect(log.estimatedInterval(slot)).toBe(1_000);
    const burstOnly = log.allocate();
    log.push(burstOnly, 0);
    log.push(burstOnly, 2);
    expect(log.estimatedInterval(burstOnly)).toBeNull();
  });

  it('estimates the interval from the newest gaps through wrap-around', () => {
    const log = new ArrivalLog(5);
    const slot = log.allocate();
    const gaps = [5000, 5100, 60_000, 4900, 5000, 5200, 4800, 30_000, 5000];
    const expected = [null, 5100, 60_000, 5100, 5000, 5000, 5000, 5200, 5000];
    let t = 1_790_000_000_000;
    expect(log.estimatedInterval(slot)).toBeNull();
    gaps.forEach((gap, i) => {
      t += gap;
      log.push(slot, t);
      expect(log.estimatedInterval(slot)).toBe(expected[i]);
    });
  });

  it('keeps whole-ms times exact across months of uptime, moving its base as time passes', () => {
    const log = new ArrivalLog(4);
    const slot = log.allocate();
    const day = 86_400_000;
    const start = 1_790_000_000_000;
    const times: number[] = [];
    for (let t = start; t < start + 120 * day; t += 0.5 * day + 1234) {
      log.push(slot, t);
      times.push(t);
      expect(log.list(slot)).toEqual(times.slice(-4));
    }
    // A time from far before the base (another replica's clock): kept as the oldest it can hold.
    const other = log.allocate();
    log.push(other, start);
    expect(log.list(other)[0]).toBeGreaterThan(start);
    expect(log.list(other)[0]).toBeLessThanOrEqual(times.at(-1)!);
  });

  it('refuses a size it cannot index', () => {
    expect(() => new ArrivalLog(0)).toThrow(RangeError);
    expect(() => new ArrivalLog(70_000)).toThrow(RangeError);
  });
});
