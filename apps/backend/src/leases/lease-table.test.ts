import { describe, expect, it } from 'vitest';
import { LeaseTable, NO_SLOT, type Leased } from './lease-table.js';

interface Key extends Leased {
  name: string;
}

/** A table of named keys: `table.schedule('a', t)` schedules the key named a. */
function tableOf(slotMs: number, now: number) {
  const inner = new LeaseTable<Key>(slotMs, now);
  const keys = new Map<string, Key>();
  const key = (name: string) => {
    let k = keys.get(name);
    if (!k) keys.set(name, (k = { name, leaseDeadline: 0, leaseSlot: NO_SLOT }));
    return k;
  };
  return {
    schedule: (name: string, deadline: number) => inner.schedule(key(name), deadline),
    cancel: (name: string) => inner.cancel(key(name)),
    deadlineOf: (name: string) => inner.deadlineOf(key(name)),
    expire: (now: number, fire: (name: string, deadline: number) => void) => inner.expire(now, (k, deadline) => fire(k.name, deadline)),
    get size() {
      return inner.size;
    },
  };
}

function collect(table: ReturnType<typeof tableOf>, now: number): Array<[string, number]> {
  const fired: Array<[string, number]> = [];
  table.expire(now, (key, deadline) => fired.push([key, deadline]));
  return fired;
}

describe('LeaseTable', () => {
  it('fires a deadline never before its time and at most one slot after it', () => {
    const table = tableOf(10, 0);
    table.schedule('a', 1_234);
    expect(collect(table, 1_233)).toEqual([]);
    expect(collect(table, 1_239)).toEqual([]);
    expect(collect(table, 1_240)).toEqual([['a', 1_234]]);
    expect(table.size).toBe(0);
  });

  it('fires a deadline on a slot boundary exactly on time', () => {
    const table = tableOf(10, 0);
    table.schedule('a', 1_230);
    expect(collect(table, 1_229)).toEqual([]);
    expect(collect(table, 1_230)).toEqual([['a', 1_230]]);
  });

  it('moves a renewed key to its new deadline', () => {
    const table = tableOf(10, 0);
    table.schedule('a', 100);
    table.schedule('a', 500);
    expect(collect(table, 499)).toEqual([]);
    expect(collect(table, 500)).toEqual([['a', 500]]);
  });

  it('does not fire cancelled keys', () => {
    const table = tableOf(10, 0);
    table.schedule('a', 100);
    table.cancel('a');
    expect(collect(table, 1_000)).toEqual([]);
  });

  it('fires everything skipped during a long stall, in deadline order, and nothing early', () => {
    const table = tableOf(10, 0);
    table.schedule('late', 90_000);
    table.schedule('b', 2_000);
    table.schedule('a', 1_000);
    table.schedule('far', 10_000_000);
    // One tick an hour later, as after a blocked event loop or a suspended process.
    expect(collect(table, 3_600_000)).toEqual([
      ['a', 1_000],
      ['b', 2_000],
      ['late', 90_000],
    ]);
    expect(table.deadlineOf('far')).toBe(10_000_000);
  });

  it('lets the fire callback schedule the key again', () => {
    const table = tableOf(10, 0);
    table.schedule('a', 100);
    table.expire(100, (key) => table.schedule(key, 600));
    expect(table.deadlineOf('a')).toBe(600);
    expect(collect(table, 600)).toEqual([['a', 600]]);
  });

  it('keeps a deadline that falls in an already processed slot for the next tick', () => {
    const table = tableOf(10, 0);
    collect(table, 1_000);
    table.schedule('past', 500);
    expect(collect(table, 1_001)).toEqual([]);
    expect(collect(table, 1_010)).toEqual([['past', 500]]);
  });

  it('fires keys moved later by renewals on their new deadline, in deadline order after a stall', () => {
    const table = tableOf(10, 0);
    table.schedule('renewed', 100);
    table.schedule('steady', 2_000);
    for (let t = 200; t <= 5_000; t += 100) table.schedule('renewed', t);
    expect(table.deadlineOf('renewed')).toBe(5_000);
    expect(collect(table, 1_990)).toEqual([]);
    expect(collect(table, 2_000)).toEqual([['steady', 2_000]]);
    expect(collect(table, 4_990)).toEqual([]);
    expect(collect(table, 5_000)).toEqual([['renewed', 5_000]]);
    // Moved later while an earlier bucket holds it; a stall then passes both deadlines.
    table.schedule('x', 100);
    table.schedule('x', 9_000);
    table.schedule('y', 8_000);
    expect(collect(table, 20_000)).toEqual([
      ['y', 8_000],
      ['x', 9_000],
    ]);
  });

  it('moves a key at once when its deadline moves earlier', () => {
    const table = tableOf(10, 0);
    table.schedule('a', 5_000);
    table.schedule('a', 300);
    expect(collect(table, 300)).toEqual([['a', 300]]);
    expect(collect(table, 5_000)).toEqual([]);
  });
});
